"""Derivations for the classic methods of :mod:`derive.rules.classic` (torch.optim's Adagrad, Adadelta,
ASGD, Rprop): convention differences at the first steps, thresholds on a quadratic, what ASGD averages.

Each is a :class:`~derive.derivation.Derivation` whose steps SymPy checks, registered in
derive/catalogue.py.  The numeric sides are in verify/checks/zoo/classic.py.
"""
from __future__ import annotations

import sympy as sp

from derive.derivation import Derivation
from derive.rules.classic import (S, adadelta_rule, adagrad_rule, alpha, asgd_rule, ax, eps, eta, eta_minus, lambd,
                                  lr_decay, mu_t, rho, rprop_rule, size, size_max, size_min, t, t0, theta, wd)
from derive.update_rule import UpdateRule


G = sp.Symbol("g", positive=True)  # a gradient value (> 0: the sign only mirrors each statement)
h = sp.Symbol("h", positive=True)  # curvature of L = h θ²/2
k = sp.Symbol("k", integer=True, positive=True)  # a step number (1-based)
n = sp.Symbol("n", integer=True, positive=True)


def _at(rule: UpdateRule, entry: int, grad, **state) -> sp.Expr:
    """``rule.update[entry]`` with the oracle returning ``grad`` and state symbols set by name."""
    x = sp.Dummy("x")
    subs = {s: state[str(s)] for s in rule.state if str(s) in state}
    return rule.update[entry].replace(rule.oracle, sp.Lambda(x, grad)).subs(subs)


def adagrad_first_step() -> Derivation:
    """torch's first Adagrad step, lr·g/(|g| + ε) ≈ lr·sign(g), vs optax's lr·g/√(g² + 0.1 + ε)."""
    d = Derivation("adagrad-first-step", "Adagrad's first step: torch (S0 = 0, eps outside) vs optax (S0 = 0.1, "
                   "eps inside)",
                   summary="From torch's zero accumulator the first Adagrad step is lr g/(|g| + eps): a sign step "
                           "of length lr whatever the gradient's size. optax.adagrad starts the sum at 0.1 and puts "
                           "eps inside the root: its first step lr g/sqrt(g^2 + 0.1 + eps) is always shorter, and "
                           "linear in g (about sqrt(10) lr g) for gradients well below 0.3.")
    d.references += ["J. Duchi, E. Hazan, Y. Singer, Adaptive subgradient methods, JMLR 12 (2011)",
                     "torch.optim.Adagrad docs (documented algorithm); optax.adagrad / optax.scale_by_rss "
                     "(initial_accumulator_value=0.1, rsqrt(sum + eps))"]
    torch_step = _at(adagrad_rule(), 0, G, theta=theta, S=0, t=0).subs(wd, 0) - theta
    optax_step = _at(adagrad_rule(eps_mode="inside"), 0, G, theta=theta, S=sp.Rational(1, 10), t=0).subs(wd, 0) - theta
    d.given(sp.Symbol(r"\Delta_{\mathrm{torch}}"), torch_step, "torch: theta_1 - theta_0 with S_0 = 0 (the rule)")
    d.equal(torch_step, -eta * G / (G + eps), "sqrt(g^2) = |g|: a sign step of length lr g/(|g| + eps)")
    d.equal(sp.limit(torch_step, eps, 0, "+"), -eta, "as eps -> 0 it is exactly -lr sign(g)",
            display=r"\lim_{\epsilon\to 0}\Delta_{\mathrm{torch}}")
    d.given(sp.Symbol(r"\Delta_{\mathrm{optax}}"), optax_step, "optax: S_0 = 0.1, eps inside the root (the rule)")
    d.equal(optax_step, -eta * G / sp.sqrt(G**2 + eps + sp.Rational(1, 10)), "optax's first step")
    ratio = sp.simplify(optax_step / torch_step)
    d.equal(optax_step / torch_step, (G + eps) / sp.sqrt(G**2 + eps + sp.Rational(1, 10)),
            "their ratio", display=r"\Delta_{\mathrm{optax}} / \Delta_{\mathrm{torch}}")
    d.equal(sp.limit(ratio, G, sp.oo), 1, "large gradients: the two agree",
            display=r"\lim_{g\to\infty}\Delta_{\mathrm{optax}} / \Delta_{\mathrm{torch}}")
    d.equal(sp.limit(optax_step.subs(eps, 0) / G, G, 0, "+"), -sp.sqrt(10) * eta,
            "small gradients (eps = 0): optax's step is linear, -sqrt(10) lr g, not a sign step",
            display=r"\lim_{g\to 0}\Delta_{\mathrm{optax}}|_{\epsilon=0} / g")
    d.equivalent(G / sp.sqrt(G**2 + sp.Rational(1, 10)) < 1, G, sp.Interval.open(0, sp.oo),
                 "with eps = 0 optax's first step is shorter than torch's for every gradient")
    d.result("torch_first_step", -eta * G / (G + eps))
    d.result("optax_first_step", -eta * G / sp.sqrt(G**2 + eps + sp.Rational(1, 10)))
    return d


def adagrad_frozen_threshold() -> Derivation:
    """On L = hθ²/2, Adagrad's step multiplies θ by 1 − ηh/(√S⁺ + ε): |θ| grows iff √S⁺ < ηh/2 − ε."""
    d = Derivation("adagrad-frozen-threshold", "Adagrad on a quadratic: the accumulator threshold of stability",
                   summary="On L = h theta^2/2 each Adagrad step multiplies theta by 1 - lr h/(sqrt(S) + eps), S the "
                           "sum after this step. With S frozen this is gradient descent with step lr/(sqrt(S) + eps), "
                           "stable iff lr h/(sqrt(S) + eps) < 2, i.e. sqrt(S) > lr h/2 - eps. Adagrad's own S only "
                           "grows, so |theta| grows for a first run of steps (while sqrt(S) is below the threshold, "
                           "each growth adding to S) and contracts from then on: Adagrad on a quadratic cannot "
                           "diverge, whatever the learning rate.")
    d.references.append("J. Duchi, E. Hazan, Y. Singer, JMLR 12 (2011); torch.optim.Adagrad (lr_decay = 0)")
    rule = adagrad_rule()
    sn = S + h**2 * theta**2
    d.equal(rule.on_quadratic(h)[0].subs({wd: 0, lr_decay: 0}), theta * (1 - eta * h / (sp.sqrt(sn) + eps)),
            "the rule on g(theta) = h theta: a multiplier set by the updated sum S+ = S + h^2 theta^2",
            display=r"\theta^{+}")
    x = sp.Symbol("x", real=True)
    d.equivalent(sp.Abs(1 - x) < 1, x, sp.Interval.open(0, 2),
                 "with x = lr h/(sqrt(S+) + eps): |theta| shrinks iff 0 < x < 2")
    r = sp.Symbol("r", positive=True)
    d.solution(sp.Eq(eta * h / (r + eps), 2), r, eta * h / 2 - eps,
               "the boundary x = 2 in r = sqrt(S+): r = lr h/2 - eps (below it the step grows |theta|)")
    d.result("critical_root_sum", eta * h / 2 - eps)
    return d


def adadelta_learning_rate() -> Derivation:
    """torch's Adadelta is Zeiler's step times lr; its first step from the zero state, and the lr-step mistake."""
    d = Derivation("adadelta-learning-rate", "Adadelta: Zeiler's step, torch's learning rate and the first step",
                   summary="torch multiplies Zeiler's Adadelta step by lr (1.0 by default, which is the paper; "
                           "tf.keras defaults to 0.001). From the zero state the first step is "
                           "-lr sqrt(eps) g/sqrt((1 - rho) g^2 + eps): at most lr sqrt(eps/(1 - rho)) = 3.2e-3 lr "
                           "for rho = 0.9, eps = 1e-6, whatever the gradient. Accumulating the applied step "
                           "(lr Delta)^2 instead of Delta^2 changes acc_delta by (1 - rho)(1 - lr^2) Delta^2.")
    d.references += ["M. D. Zeiler, ADADELTA: an adaptive learning rate method, arXiv:1212.5701 (2012), Algorithm 1",
                     "torch.optim.Adadelta docs; tf.keras.optimizers.Adadelta (learning_rate=0.001)"]
    rule = adadelta_rule()
    step = rule.update[0] - theta
    d.equal(step, eta * (step.subs(eta, 1)), "torch's step is lr times Zeiler's (lr = 1)", display=r"\Delta\theta")
    r = sp.Symbol("r", positive=True)  # 1 - rho (0 < rho < 1)
    first = (_at(rule, 0, G, theta=theta, v=0, u=0).subs(wd, 0) - theta).subs(rho, 1 - r)
    d.equal(first, -eta * sp.sqrt(eps) * G / sp.sqrt(r * G**2 + eps),
            "the first step from v = u = 0, with r = 1 - rho", display=r"\Delta\theta_1")
    cap = sp.limit(first, G, sp.oo)
    d.equal(cap, -eta * sp.sqrt(eps / r), "its largest length, for large gradients",
            display=r"\lim_{g\to\infty}\Delta\theta_1")
    d.equal(cap.subs({r: sp.Rational(1, 10), eps: sp.Rational(1, 10**6)}), -eta / sp.sqrt(10**5),
            "torch's defaults rho = 0.9, eps = 1e-6: 3.2e-3 lr")
    mistake = adadelta_rule(acc_delta="step")
    d.equal(rule.update[2] - mistake.update[2], (1 - rho) * (1 - eta**2) * (step / eta)**2,
            "acc_delta of the applied step (lr Delta)^2: off by (1 - rho)(1 - lr^2) Delta^2",
            display=r"u^{+} - u^{+}_{\mathrm{step}}")
    d.result("first_step", -eta * sp.sqrt(eps) * G / sp.sqrt(r * G**2 + eps))
    return d


def asgd_averaging() -> Derivation:
    """torch's ASGD: ax is the mean of the iterates of steps t0 + 2, ..., t; η_k and the last growing step."""
    d = Derivation("asgd-averaging", "ASGD: what torch's ax averages, and its step-size schedule",
                   summary="torch.optim.ASGD updates eta and mu after each step, so step k uses "
                           "eta_{k-1} = lr/(1 + lambd lr (k - 1))^alpha and mu_{k-1} = 1/max(1, k - 1 - t0). For an "
                           "integer t0 >= 0, ax after step t0 + 1 + n (n >= 1) is the mean of the n iterates of "
                           "steps t0 + 2, ..., t0 + 1 + n. On L = h theta^2/2 a step grows |theta| iff "
                           "eta_{k-1}(h + lambd + wd) > 2; eta decreases, so the growth stops after step "
                           "1 + ((lr c/2)^(1/alpha) - 1)/(lambd lr), c = h + lambd + wd.")
    d.references += ["B. T. Polyak, A. B. Juditsky, Acceleration of stochastic approximation by averaging, "
                     "SIAM J. Control Optim. 30 (1992)",
                     "L. Bottou, Stochastic gradient descent tricks, Neural Networks: Tricks of the Trade (2012), "
                     "Sec. 5.3; torch.optim.ASGD's code"]
    rule = asgd_rule()
    d.equal(rule.update[1].subs(t, k - 2), eta / (1 + lambd * eta * (k - 1))**alpha,
            "the eta stored after step k - 1, used by step k", display=r"\eta_{k-1}")
    d.equal(rule.update[2].subs(t, t0 + n - 1), 1 / n,
            "the mu stored after step t0 + n, used by step t0 + 1 + n (n >= 1)", display=r"\mu")
    d.equal(rule.update[3], ax + mu_t * (rule.update[0] - ax), "the average moves towards the new iterate by mu",
            display=r"a^{+}")
    A, new = sp.Symbol("A", real=True), sp.Symbol(r"\theta_{k}", real=True)
    mean = A / (n - 1)
    d.equal(mean + (new - mean) / n, (A + new) / n, "induction: the mean of n - 1 iterates (sum A) moved with "
            "mu = 1/n is the mean of n (for n = 1, mu = 1: the average is the iterate itself)")
    c = sp.Symbol("c", positive=True)
    s_star = ((eta * c / 2)**(1 / alpha) - 1) / (lambd * eta)
    sym = sp.Symbol("s", positive=True)
    d.solution(sp.Eq(eta * c / (1 + lambd * eta * sym)**alpha, 2), sym, s_star,
               "on L = h theta^2/2 the multiplier is 1 - eta_s c (c = h + lambd + weight_decay): eta_s c = 2 at "
               "s = ((lr c/2)^(1/alpha) - 1)/(lambd lr); steps with k - 1 > s contract")
    d.result("last_growing_index", s_star)
    return d


def rprop_step_growth() -> Derivation:
    """Rprop from rest with a constant gradient sign: geometric step sizes, the distance covered, the crossing."""
    d = Derivation("rprop-step-growth", "Rprop: geometric step growth and the first sign change",
                   summary="While the gradient keeps its sign, step k of torch's Rprop has length "
                           "lr etaplus^(k-1) (the first step has g prev = 0: factor 1), so n steps cover "
                           "lr (etaplus^n - 1)/(etaplus - 1) as long as no step reaches the maximum step size. From "
                           "distance D to the minimum of a quadratic the first overshoot is at the first n with "
                           "that distance > D, n > log(1 + D (etaplus - 1)/lr)/log(etaplus); the next step sees the "
                           "sign change, multiplies the step size by etaminus and does not move.")
    d.references += ["M. Riedmiller, H. Braun, A direct adaptive method for faster backpropagation learning: "
                     "the RPROP algorithm, IEEE ICNN (1993)",
                     "C. Igel, M. Hüsken, Improving the Rprop learning algorithm, NC 2000 (iRprop-); "
                     "torch.optim.Rprop"]
    j = sp.Symbol("j", integer=True, nonnegative=True)
    q = sp.Symbol("q", positive=True)  # etaplus = 1 + q > 1
    dist = sp.Sum(eta * (1 + q)**j, (j, 0, n - 1)).doit()
    d.equal(dist, eta * ((1 + q)**n - 1) / q, "the geometric sum of the first n step lengths, etaplus = 1 + q",
            display=r"\sum_{j<n}\eta\,\eta_+^{j}")
    D = sp.Symbol("D", positive=True)
    x = sp.Symbol("x", positive=True)
    n_star = sp.log(1 + D * q / eta) / sp.log(1 + q)
    d.solution(sp.Eq(eta * ((1 + q)**x - 1) / q, D), x, n_star,
               "the (real) number of steps that covers exactly D")
    rule = rprop_rule()
    flip = _at(rule, 2, -G, p=G, Delta=size, theta=theta)
    d.equal(sp.Min(sp.Max(size * eta_minus, size_min), size_max), flip,
            "after the sign change the step size is multiplied by etaminus (clamped) ...")
    d.equal(_at(rule, 0, -G, p=G, Delta=size, theta=theta), theta, "... and theta does not move (iRprop-)")
    d.result("steps_to_cover", n_star)  # in q = etaplus - 1
    return d
