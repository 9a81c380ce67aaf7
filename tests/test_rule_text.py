"""The rule text format: parsed into the same maps as rules written in Python, run like hand-written NumPy
optimizers, and every bad file refused with one line naming the file, the line and the problem."""
import numpy as np
import pytest
import sympy as sp

from derive.rule_text import RuleTextError
from derive.rules import momentum
from derive.rules.library import RuleNotFound, names, resolve, text_rules
from derive.update_rule import UpdateRule, g
from numeric import optimizers

QHM = """# quasi-hyperbolic momentum
name: qhm-test
hyper: lr=0.1, momentum=0.9, nu=0.7          # defaults
state: buf=0
latex: lr=\\eta, momentum=\\beta, nu=\\nu
buf = momentum*buf + (1 - momentum)*g(theta)
theta = theta - lr*((1 - nu)*g(theta) + nu*buf)
"""

ADAM = """name: adam-text
hyper: lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0
state: exp_avg=0, exp_avg_sq=0
grad = g(theta) + weight_decay*theta
exp_avg = beta1*exp_avg + (1 - beta1)*grad
exp_avg_sq = beta2*exp_avg_sq + (1 - beta2)*grad^2
theta = theta - lr*(exp_avg/(1 - beta1^t))/(sqrt(exp_avg_sq/(1 - beta2^t)) + eps)
"""


def _run(opt, grads, params):
    state = opt.init(params)
    out = []
    for gk in grads:
        params, state = opt.step(params, gk, state)
        out.append((params, state))
    return out


def test_qhm_text_is_the_published_update():
    """Ma & Yarats (2019), eq. 3, written out by hand here."""
    r = UpdateRule.from_text(QHM)
    eta, beta, nu = (sp.Symbol(n, real=True) for n in ("eta", "beta", "nu"))
    eta = sp.Symbol("eta", positive=True)
    theta, buf = sp.symbols("theta buf", real=True)
    new_buf = beta * buf + (1 - beta) * g(theta)
    assert r.name == "qhm-test" and r.state == (theta, buf) and r.state_names == ("buf",)
    assert r.hyper == {"lr": eta, "momentum": beta, "nu": nu}
    assert r.defaults == {"lr": 0.1, "momentum": 0.9, "nu": 0.7}
    assert sp.simplify(r.update[1] - new_buf) == 0
    assert sp.simplify(r.update[0] - (theta - eta * ((1 - nu) * g(theta) + nu * new_buf))) == 0


def test_qhm_lambdified_equals_a_handwritten_loop():
    rng = np.random.default_rng(0)
    grads = rng.normal(size=(50, 4))
    got = _run(UpdateRule.from_text(QHM).lambdify(lr=0.05, momentum=0.8, nu=0.6), grads, np.ones(4))
    theta, buf = np.ones(4), np.zeros(4)
    for (p, s), gk in zip(got, grads):
        buf = 0.8 * buf + 0.2 * gk
        theta = theta - 0.05 * (0.4 * gk + 0.6 * buf)
        np.testing.assert_allclose(p, theta, rtol=1e-14, atol=1e-15)
        np.testing.assert_allclose(s["buf"], buf, rtol=1e-14, atol=1e-15)


def test_adam_text_with_the_step_counter_runs_like_numeric_adam():
    """t is 1-based in the text; the rule gets a 'step' state entry like the catalogue's Adam."""
    r = UpdateRule.from_text(ADAM)
    assert r.state_names == ("exp_avg", "exp_avg_sq", "step") and r.update[-1] == r.state[-1] + 1
    rng = np.random.default_rng(1)
    grads = rng.normal(size=(100, 5)) * np.logspace(-3, 1, 5)
    hyper = dict(lr=1e-2, beta1=0.8, beta2=0.95, eps=1e-6, weight_decay=0.1)
    sym = _run(r.lambdify(**hyper), grads, np.linspace(-1, 1, 5))
    hand = _run(optimizers.adam(lr=1e-2, betas=(0.8, 0.95), eps=1e-6, weight_decay=0.1), grads, np.linspace(-1, 1, 5))
    for (p1, s1), (p2, s2) in zip(sym, hand):
        np.testing.assert_allclose(p1, p2, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(s1["exp_avg_sq"], s2["exp_avg_sq"], rtol=1e-12, atol=1e-18)


def test_heavy_ball_and_nesterov_as_text_equal_the_python_rules():
    hb = UpdateRule.from_text("hyper: lr=0.1, momentum=0.9\nstate: v=0\nlatex: lr=\\eta, momentum=\\beta\n"
                              "v = momentum*v - lr*g(theta)\ntheta = theta + v\n")
    ne = UpdateRule.from_text("hyper: lr=0.1, momentum=0.9\nstate: v=0\nlatex: lr=\\eta, momentum=\\beta\n"
                              "v = momentum*v - lr*g(theta + momentum*v)\ntheta = theta + v\n")
    lam, z = sp.Symbol("lambda", real=True), sp.Symbol("z")
    for text_rule, python_rule in ((hb, momentum.heavy_ball_rule()), (ne, momentum.nesterov_rule())):
        # same symbols up to assumptions: compare through the names
        to_python = {s: sp.Symbol(s.name, **python_rule.hyper.get(
            {"eta": "lr", "beta": "momentum"}.get(s.name, ""), s).assumptions0)
            for s in text_rule.hyper.values()}
        p_text = sp.expand(text_rule.characteristic_polynomial(lam, z).subs(to_python))
        assert sp.expand(p_text - python_rule.characteristic_polynomial(lam, z)) == 0


def test_initial_state_may_use_theta_and_temporaries_follow_code_order():
    r = UpdateRule.from_text("hyper: lr=0.5\nstate: anchor=2*theta\n"
                             "d = g(theta)\nd = d + anchor\ntheta = theta - lr*d\nanchor = anchor\n")
    opt = r.lambdify()
    s = opt.init(np.array([1.0, -3.0]))
    np.testing.assert_array_equal(s["anchor"], [2.0, -6.0])
    p, _ = opt.step(np.array([1.0, -3.0]), np.array([0.5, 0.5]), s)
    np.testing.assert_allclose(p, [1 - 0.5 * 2.5, -3 - 0.5 * (-5.5)])


def test_catalogue_text_rules_parse_and_resolve():
    assert {"qhm", "aggmo", "lion"} <= set(text_rules())
    assert set(text_rules()) <= set(names())
    agg = resolve("aggmo")
    assert len(agg.state) == 3
    z, lam = sp.Symbol("z"), sp.Symbol("lambda", real=True)
    assert sp.degree(agg.characteristic_polynomial(lam, z), z) == 3
    lion = resolve("lion")
    assert lion.update[0].has(sp.sign) and lion.defaults["lr"] == 1e-4


def test_resolve_errors_are_one_line(tmp_path):
    with pytest.raises(RuleNotFound, match="unknown rule 'nope'; known: gd"):
        resolve("nope")
    with pytest.raises(RuleNotFound, match="no such rule file"):
        resolve(str(tmp_path / "missing.rule"))
    bad = tmp_path / "bad.rule"
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(RuleTextError, match="not a text file"):
        resolve(str(bad))


BAD = [
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta) + __import__('os')", 2, "unknown function"),
    ("hyper: lr=0.1\ntheta = theta.real - lr*g(theta)", 2, "unsupported syntax 'Attribute'"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta)[0]", 2, "unsupported syntax 'Subscript'"),
    ("hyper: lr=0.1\ntheta = (lambda q: q)(theta) - lr*g(theta)", 2, "unknown function"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta, theta)", 2, "g takes one argument"),
    ("hyper: lr=0.1\ntheta = theta - lr*gg(theta)", 2, "unknown function 'gg'"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta)*momentum", 2, "unknown name 'momentum'"),
    ("hyper: lr=0.1\ntheta = theta - lr*g", 2, "'g' is a function"),
    ("hyper: lr=0.1\nlr = 2\ntheta = theta - lr*g(theta)", 2, "'lr' is a hyperparameter"),
    ("hyper: lr=0.1\nt = 2\ntheta = theta - lr*g(theta)", 2, "'t' is reserved"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta) +", 2, "could not parse"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta)/0", 2, "not real and finite"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta) + log(-1)", 2, "is not real"),
    ("hyper: lr=0.1\ntheta := theta", 2, "expected 'name = expression'"),
    ("hyper: lr=0.1\nfoo: 1\ntheta = theta - lr*g(theta)", 2, "unknown header 'foo:'"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta)\nhyper: lr=1", 3, "must come before"),
    ("hyper: lr=0.1, lr=0.2\ntheta = theta - lr*g(theta)", 1, "lr given twice"),
    ("hyper: lr=abc\ntheta = theta - lr*g(theta)", 1, "not a number"),
    ("hyper: lr=inf\ntheta = theta - lr*g(theta)", 1, "not a finite number"),
    ("hyper: lr=-1\ntheta = theta - lr*g(theta)", 1, "lr must be > 0"),
    ("hyper: step_size=0.1\ntheta = theta - step_size*g(theta)", 1, "needs a step size named lr"),
    ("hyper: lr=0.1, theta=1\ntheta = theta - lr*g(theta)", 1, "'theta' is reserved"),
    ("hyper: lr=0.1\nstate: sqrt=0\ntheta = theta - lr*g(theta)", 2, "'sqrt' is reserved"),
    ("hyper: lr=0.1, v=1\nstate: v=0\nv = v\ntheta = theta - lr*g(theta)", 2, "also a hyperparameter"),
    ("hyper: lr=0.1\nstate: v=0\ntheta = theta - lr*g(theta)", 2, "v is never updated"),
    ("hyper: lr=0.1\nstate: v=g(theta)\nv = v\ntheta = theta - lr*g(theta)", 2, "may use theta and the hyper"),
    ("hyper: lr=0.1\nv = g(theta)", 2, "never assigns theta"),
    ("hyper: lr=0.1\ntheta = theta - lr*theta", 2, "never calls the gradient"),
    ("hyper: lr=0.1\nlatex: nu=\\nu\ntheta = theta - lr*g(theta)", 2, "'nu' is not a hyperparameter"),
    ("hyper: lr=0.1, a=1, b=1\nlatex: a=\\beta, b=\\beta\ntheta = theta - lr*(a+b)*g(theta)", 2,
     "would print as the same symbol beta"),
    ("hyper: lr=0.1, wd=0\nlatex: wd=\\lambda\ntheta = theta - lr*(g(theta) + wd*theta)", 2,
     "which the analyses use themselves"),
    ("hyper: lr=0.1, b_0=0.5\ntheta = theta - lr*b_0*g(theta)", 1, "which the analyses use themselves"),
    ("hyper: lr=0.1, c_1=0.5\ntheta = theta - lr*c_1*g(theta)", 1, "which the analyses use themselves"),
    ("hyper: lr=0.1\nlatex: lr=\\hat{\\eta}\ntheta = theta - lr*g(theta)", 2, "give a letter or command"),
    ("name: bad name!\nhyper: lr=0.1\ntheta = theta - lr*g(theta)", 1, "is not a rule name"),
    ("hyper: lr=0.1\ntheta = theta - lr*g(theta)**1000", 2, "exponent 1000"),
    ("hyper: lr=0.1\n" + "a = g(theta)\n" + "a = (a + 1)*(a + 2)\n" * 14 + "theta = theta - lr*a", 13,
     "more than 5000 operations"),
    ("hyper: lr=0.1  # nothing else\n", 1, "no update lines"),
    ("", 1, "needs a step size named lr"),
]


@pytest.mark.parametrize("text, line, message", BAD)
def test_bad_rules_are_refused_with_file_and_line(tmp_path, text, line, message):
    path = tmp_path / "user.rule"
    path.write_text(text)
    with pytest.raises(RuleTextError) as info:
        UpdateRule.from_file(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(f"{path}:{line}: "), msg
    assert message in msg, msg
