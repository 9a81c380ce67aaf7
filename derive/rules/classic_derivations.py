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
    d = Derivation("adagrad-first-step", r"Adagrad's first step: torch ($S_0 = 0$, $\epsilon$ outside) "
                   r"vs optax ($S_0 = 0.1$, $\epsilon$ inside)",
                   summary=r"From torch's zero accumulator the first Adagrad step is $\eta g/(|g| + \epsilon)$ "
                           r"($\eta$ is `lr`): a sign step of length $\eta$ whatever the gradient's size. "
                           r"`optax.adagrad` starts the sum at 0.1 and puts $\epsilon$ inside the root: its first step "
                           r"$\eta g/\sqrt{g^2 + 0.1 + \epsilon}$ is always shorter, and linear in $g$ (about "
                           r"$\sqrt{10}\,\eta g$) for gradients well below 0.3.")
    d.references += ["J. Duchi, E. Hazan, Y. Singer, Adaptive subgradient methods, JMLR 12 (2011)",
                     "`torch.optim.Adagrad` docs (documented algorithm); `optax.adagrad` / `optax.scale_by_rss` "
                     "(`initial_accumulator_value=0.1`, `rsqrt(sum + eps)`)"]
    torch_step = _at(adagrad_rule(), 0, G, theta=theta, S=0, t=0).subs(wd, 0) - theta
    optax_step = _at(adagrad_rule(eps_mode="inside"), 0, G, theta=theta, S=sp.Rational(1, 10), t=0).subs(wd, 0) - theta
    d.given(sp.Symbol(r"\Delta_{\mathrm{torch}}"), torch_step,
            r"torch's rule: $\theta_1 - \theta_0$ from the accumulator $S_0 = 0$")
    d.equal(torch_step, -eta * G / (G + eps), r"the accumulator after the step is $g^2$ and $\sqrt{g^2} = |g|$: a sign "
            r"step of length $\eta g/(|g| + \epsilon)$")
    d.equal(sp.limit(torch_step, eps, 0, "+"), -eta,
            r"as $\epsilon \to 0$ the fraction $g/(|g| + \epsilon)$ tends to $\operatorname{sign}(g)$: the step is "
            r"$-\eta\operatorname{sign}(g)$",
            display=r"\lim_{\epsilon\to 0}\Delta_{\mathrm{torch}}")
    d.given(sp.Symbol(r"\Delta_{\mathrm{optax}}"), optax_step,
            r"optax's rule: the accumulator starts at $S_0 = 0.1$ and $\epsilon$ goes inside the root")
    d.equal(optax_step, -eta * G / sp.sqrt(G**2 + eps + sp.Rational(1, 10)),
            r"the accumulator after the step is $0.1 + g^2$, and $\epsilon$ is added to it inside the root")
    ratio = sp.simplify(optax_step / torch_step)
    d.equal(optax_step / torch_step, (G + eps) / sp.sqrt(G**2 + eps + sp.Rational(1, 10)),
            r"dividing the two first steps: the factors $-\eta g$ cancel",
            display=r"\Delta_{\mathrm{optax}} / \Delta_{\mathrm{torch}}")
    d.equal(sp.limit(ratio, G, sp.oo), 1, "for large gradients both denominators grow like $g$: the two steps agree",
            display=r"\lim_{g\to\infty}\Delta_{\mathrm{optax}} / \Delta_{\mathrm{torch}}")
    d.equal(sp.limit(optax_step.subs(eps, 0) / G, G, 0, "+"), -sp.sqrt(10) * eta,
            r"for small gradients ($\epsilon = 0$) optax's denominator tends to $\sqrt{0.1}$: its step is linear, "
            r"$-\sqrt{10}\,\eta g$, not a sign step",
            display=r"\lim_{g\to 0}\Delta_{\mathrm{optax}}|_{\epsilon=0} / g")
    d.equivalent(G / sp.sqrt(G**2 + sp.Rational(1, 10)) < 1, G, sp.Interval.open(0, sp.oo),
                 r"with $\epsilon = 0$ the ratio $g/\sqrt{g^2 + 0.1}$ is below 1 for every gradient: optax's first "
                 "step is the shorter")
    d.result("torch_first_step", -eta * G / (G + eps), label=r"\Delta_{\mathrm{torch}}")
    d.result("optax_first_step", -eta * G / sp.sqrt(G**2 + eps + sp.Rational(1, 10)), label=r"\Delta_{\mathrm{optax}}")
    return d


def adagrad_frozen_threshold() -> Derivation:
    """On L = hθ²/2, Adagrad's step multiplies θ by 1 − ηh/(√S⁺ + ε): |θ| grows iff √S⁺ < ηh/2 − ε."""
    d = Derivation("adagrad-frozen-threshold", "Adagrad on a quadratic: the accumulator threshold of stability",
                   summary=r"On $L = h\theta^2/2$ each Adagrad step scales $\theta$ by "
                           r"$1 - \eta h/(\sqrt{S} + \epsilon)$ ($\eta$ is `lr`), $S$ the sum after this step. With $S$ "
                           r"frozen this is gradient descent with step $\eta/(\sqrt{S} + \epsilon)$, stable iff "
                           r"$\eta h/(\sqrt{S} + \epsilon) < 2$, i.e. $\sqrt{S} > \eta h/2 - \epsilon$. Adagrad's own "
                           r"$S$ only grows, so $|\theta|$ grows for a first run of steps (while $\sqrt{S}$ is below the "
                           r"threshold, each growth adding to $S$) and contracts from then on: Adagrad on a quadratic "
                           "cannot diverge, whatever the learning rate.")
    d.references.append("J. Duchi, E. Hazan, Y. Singer, JMLR 12 (2011); `torch.optim.Adagrad` (`lr_decay=0`)")
    rule = adagrad_rule()
    sn = S + h**2 * theta**2
    d.equal(rule.on_quadratic(h)[0].subs({wd: 0, lr_decay: 0}), theta * (1 - eta * h / (sp.sqrt(sn) + eps)),
            r"on $L = h\theta^2/2$ the gradient is $h\theta$, so the step scales $\theta$ by a factor set by the "
            r"updated sum $S^{+} = S + h^2\theta^2$",
            display=r"\theta^{+}")
    x = sp.Symbol("x", real=True)
    d.equivalent(sp.Abs(1 - x) < 1, x, sp.Interval.open(0, 2),
                 r"with $x = \eta h/(\sqrt{S^{+}} + \epsilon)$ the factor is $1 - x$: $|\theta|$ shrinks iff $0 < x < 2$")
    r = sp.Symbol("r", positive=True)
    d.solution(sp.Eq(eta * h / (r + eps), 2), r, eta * h / 2 - eps,
               r"solve the boundary $x = 2$ for $r = \sqrt{S^{+}}$: $r = \eta h/2 - \epsilon$ (below it the step "
               r"grows $|\theta|$)")
    d.result("critical_root_sum", eta * h / 2 - eps, label=r"r_{\mathrm{crit}}")
    return d


def adadelta_learning_rate() -> Derivation:
    """torch's Adadelta is Zeiler's step times lr; its first step from the zero state, and the lr-step mistake."""
    d = Derivation("adadelta-learning-rate", "Adadelta: Zeiler's step, torch's learning rate and the first step",
                   summary=r"torch scales Zeiler's Adadelta step by $\eta$ (`lr`, 1.0 by default, which is the "
                           "paper; tf.keras defaults to 0.001). From the zero state the first step is "
                           r"$-\eta\sqrt{\epsilon}\,g/\sqrt{(1 - \rho)g^2 + \epsilon}$: at most "
                           r"$\eta\sqrt{\epsilon/(1 - \rho)} \approx 3.2 \cdot 10^{-3}\,\eta$ for $\rho = 0.9$, "
                           r"$\epsilon = 10^{-6}$, whatever the gradient. Accumulating the applied step "
                           r"$(\eta\Delta)^2$ instead of $\Delta^2$ changes `acc_delta` by "
                           r"$(1 - \rho)(1 - \eta^2)\Delta^2$.")
    d.references += ["M. D. Zeiler, ADADELTA: an adaptive learning rate method, arXiv:1212.5701 (2012), Algorithm 1",
                     "`torch.optim.Adadelta` docs; `tf.keras.optimizers.Adadelta` (`learning_rate=0.001`)"]
    rule = adadelta_rule()
    step = rule.update[0] - theta
    d.equal(step, eta * (step.subs(eta, 1)), r"torch scales Zeiler's step (its value at $\eta = 1$) by the "
            r"learning rate $\eta$", display=r"\Delta\theta")
    r = sp.Symbol("r", positive=True)  # 1 - rho (0 < rho < 1)
    first = (_at(rule, 0, G, theta=theta, v=0, u=0).subs(wd, 0) - theta).subs(rho, 1 - r)
    d.equal(first, -eta * sp.sqrt(eps) * G / sp.sqrt(r * G**2 + eps),
            r"from $v = u = 0$ the squared-gradient average becomes $r g^2$ ($r = 1 - \rho$) while the step average "
            r"is still 0, which leaves only $\sqrt{\epsilon}$ of it", display=r"\Delta\theta_1")
    cap = sp.limit(first, G, sp.oo)
    d.equal(cap, -eta * sp.sqrt(eps / r), r"for large gradients the $\epsilon$ beside $r g^2$ is negligible: the "
            "largest length",
            display=r"\lim_{g\to\infty}\Delta\theta_1")
    d.equal(cap.subs({r: sp.Rational(1, 10), eps: sp.Rational(1, 10**6)}), -eta / sp.sqrt(10**5),
            r"at torch's defaults $\rho = 0.9$, $\epsilon = 10^{-6}$: $\sqrt{10^{-5}} \approx 3.2 \cdot 10^{-3}$ times "
            r"$\eta$")
    mistake = adadelta_rule(acc_delta="step")
    d.equal(rule.update[2] - mistake.update[2], (1 - rho) * (1 - eta**2) * (step / eta)**2,
            r"accumulating the applied step $(\eta\Delta)^2$ in `acc_delta` instead of $\Delta^2$ changes only the "
            r"$(1 - \rho)$ term, by $(1 - \rho)(1 - \eta^2)\Delta^2$",
            display=r"u^{+} - u^{+}_{\mathrm{step}}")
    d.result("first_step", -eta * sp.sqrt(eps) * G / sp.sqrt(r * G**2 + eps), label=r"\Delta\theta_1")
    return d


def asgd_averaging() -> Derivation:
    """torch's ASGD: ax is the mean of the iterates of steps t0 + 2, ..., t; η_k and the last growing step."""
    d = Derivation("asgd-averaging", "ASGD: what torch's ax averages, and its step-size schedule",
                   summary=r"`torch.optim.ASGD` updates $\eta$ and $\mu$ after each step, so step $k$ uses "
                           r"$\eta_{k-1} = \eta/(1 + \lambda\eta(k - 1))^{\alpha}$ and "
                           r"$\mu_{k-1} = 1/\max(1, k - 1 - t_0)$ ($\eta$ is `lr`, $\lambda$ is `lambd`, "
                           r"$\lambda_{\mathrm{wd}}$ is `weight_decay`). For an integer $t_0 \ge 0$, `ax` after step "
                           r"$t_0 + 1 + n$ ($n \ge 1$) is the mean of the $n$ iterates of steps "
                           r"$t_0 + 2, \dots, t_0 + 1 + n$. On $L = h\theta^2/2$ a step grows $|\theta|$ iff "
                           r"$\eta_{k-1}(h + \lambda + \lambda_{\mathrm{wd}}) > 2$; $\eta_k$ decreases, so the growth "
                           r"stops after step $1 + ((\eta c/2)^{1/\alpha} - 1)/(\lambda\eta)$, "
                           r"$c = h + \lambda + \lambda_{\mathrm{wd}}$.")
    d.references += ["B. T. Polyak, A. B. Juditsky, Acceleration of stochastic approximation by averaging, "
                     "SIAM J. Control Optim. 30 (1992)",
                     "L. Bottou, Stochastic gradient descent tricks, Neural Networks: Tricks of the Trade (2012), "
                     "Sec. 5.3; `torch.optim.ASGD`'s code"]
    rule = asgd_rule()
    d.equal(rule.update[1].subs(t, k - 2), eta / (1 + lambd * eta * (k - 1))**alpha,
            r"torch updates $\eta$ after each step: the value stored by step $k - 1$ (taken at $t = k - 2$) is the "
            "one step $k$ uses", display=r"\eta_{k-1}")
    d.equal(rule.update[2].subs(t, t0 + n - 1), 1 / n,
            r"likewise $\mu$: the value stored by step $t_0 + n$ is $1/n$, used by step $t_0 + 1 + n$ ($n \ge 1$)",
            display=r"\mu")
    d.equal(rule.update[3], ax + mu_t * (rule.update[0] - ax),
            r"torch's `ax` update: the average moves towards the new iterate by the fraction $\mu$",
            display=r"a^{+}")
    A, new = sp.Symbol("A", real=True), sp.Symbol(r"\theta_{k}", real=True)
    mean = A / (n - 1)
    d.equal(mean + (new - mean) / n, (A + new) / n, r"induction: the mean of $n - 1$ iterates (sum $A$) moved with "
            r"$\mu = 1/n$ is the mean of $n$ (for $n = 1$, $\mu = 1$: the average is the iterate itself)")
    c = sp.Symbol("c", positive=True)
    s_star = ((eta * c / 2)**(1 / alpha) - 1) / (lambd * eta)
    sym = sp.Symbol("s", positive=True)
    d.solution(sp.Eq(eta * c / (1 + lambd * eta * sym)**alpha, 2), sym, s_star,
               r"on $L = h\theta^2/2$ the factor is $1 - \eta_s c$ ($c = h + \lambda + \lambda_{\mathrm{wd}}$); solving "
               r"$\eta_s c = 2$ gives $s = ((\eta c/2)^{1/\alpha} - 1)/(\lambda\eta)$, and steps with $k - 1 > s$ "
               "contract")
    d.result("last_growing_index", s_star, label="s")
    return d


def rprop_step_growth() -> Derivation:
    """Rprop from rest with a constant gradient sign: geometric step sizes, the distance covered, the crossing."""
    d = Derivation("rprop-step-growth", "Rprop: geometric step growth and the first sign change",
                   summary=r"While the gradient keeps its sign, step $k$ of torch's Rprop has length "
                           r"$\eta\,\eta_{+}^{k-1}$ ($\eta$ is `lr`, $\eta_{+}$ is `etaplus`; the first step has a "
                           r"previous gradient 0: factor 1), so $n$ steps cover $\eta(\eta_{+}^n - 1)/(\eta_{+} - 1)$ "
                           r"as long as no step reaches the maximum step size. From distance $D$ to the minimum of a "
                           r"quadratic the first overshoot is at the first $n$ whose distance exceeds $D$, "
                           r"$n > \log(1 + D(\eta_{+} - 1)/\eta)/\log\eta_{+}$; the next step sees the sign change, "
                           r"scales the step size by $\eta_{-}$ (`etaminus`) and does not move.")
    d.references += ["M. Riedmiller, H. Braun, A direct adaptive method for faster backpropagation learning: "
                     "the RPROP algorithm, IEEE ICNN (1993)",
                     "C. Igel, M. Hüsken, Improving the Rprop learning algorithm, NC 2000 (iRprop-); "
                     "`torch.optim.Rprop`"]
    j = sp.Symbol("j", integer=True, nonnegative=True)
    q = sp.Symbol("q", positive=True)  # etaplus = 1 + q > 1
    dist = sp.Sum(eta * (1 + q)**j, (j, 0, n - 1)).doit()
    d.equal(dist, eta * ((1 + q)**n - 1) / q,
            r"the first $n$ step lengths $\eta\,\eta_{+}^{j}$ form a geometric sum, with $\eta_{+} = 1 + q$",
            display=r"\sum_{j<n}\eta\,\eta_+^{j}")
    D = sp.Symbol("D", positive=True)
    x = sp.Symbol("x", positive=True)
    n_star = sp.log(1 + D * q / eta) / sp.log(1 + q)
    d.solution(sp.Eq(eta * ((1 + q)**x - 1) / q, D), x, n_star,
               "solving with logarithms: the (real) count of steps that covers exactly $D$")
    rule = rprop_rule()
    flip = _at(rule, 2, -G, p=G, Delta=size, theta=theta)
    d.equal(sp.Min(sp.Max(size * eta_minus, size_min), size_max), flip,
            r"at a sign change torch scales the step size by $\eta_{-}$ and clamps it to "
            r"$[\Gamma_{\min}, \Gamma_{\max}]$ ...")
    d.equal(_at(rule, 0, -G, p=G, Delta=size, theta=theta), theta,
            r"... and sets the gradient to 0, so $\theta$ does not move (iRprop-)")
    d.result("steps_to_cover", n_star, label=r"n_D")  # in q = etaplus - 1
    return d
