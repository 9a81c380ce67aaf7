"""The catalogue of derivations: name -> (title, factory), imported lazily.

``ldyn derive --list`` reads the names and titles without building anything; the
factories are ``"module:function"`` strings resolved on first use.
"""
from __future__ import annotations

import importlib
from typing import Callable

#: name -> (title, "module:function" inside derive/)
CATALOGUE: dict[str, tuple[str, str]] = {
    "gd": ("Gradient descent: the update rule as a dynamical system", "rules.gradient_descent:gd_derivation"),
    "gd-steepest-descent": ("Gradient descent from the first-order Taylor expansion",
                            "rules.gradient_descent:steepest_descent"),
    "gd-forward-euler": ("Gradient descent is forward Euler on gradient flow", "rules.gradient_descent:forward_euler"),
    "gd-quadratic-stability": ("Stability of gradient descent on a quadratic",
                               "rules.gradient_descent:quadratic_stability"),
    "gd-modified-equation": ("The modified equation of gradient descent, for any smooth loss",
                             "analysis.modified_equation:generic_modified_equation"),
    "heavy-ball": ("Heavy-ball momentum: stability region and damping regimes", "rules.momentum:heavy_ball_analysis"),
    "nesterov": ("Nesterov momentum: stability region and damping regimes", "rules.momentum:nesterov_analysis"),
    "momentum-tuning": (r"Tuning momentum on a quadratic: heavy ball, Nesterov and $\sqrt{\kappa}$",
                        "analysis.momentum_tuning:momentum_tuning"),
    "heavy-ball-oscillator": ("Heavy ball is a discretized damped oscillator",
                              "analysis.momentum_limits:oscillator_limit"),
    "heavy-ball-modified-equation": ("Momentum's implicit regularizer (modified equation of heavy ball)",
                                     "analysis.momentum_limits:heavy_ball_modified_equation"),
    "critical-sharpness": ("Critical sharpness: the edge of stability of GD, heavy ball and Nesterov",
                           "analysis.momentum_limits:critical_sharpness"),
    "rmsprop": ("RMSProp: plain, with momentum, centered", "analysis.adaptive_dynamics:rmsprop_update"),
    "adam": ("Adam: the update rule and its equivalent forms", "analysis.adaptive_dynamics:adam_update"),
    "adam-bias-correction": ("Adam's bias correction: the expected EMA of a stationary signal",
                             "analysis.adaptive_dynamics:bias_correction"),
    "adam-frozen-preconditioner": ("Adam on a quadratic with a frozen preconditioner: the preconditioned "
                                   "sharpness threshold", "analysis.adaptive_dynamics:frozen_preconditioner"),
    "adam-sign-descent": (r"Adam as sign descent in the limit $\epsilon \to 0$", "analysis.adaptive_dynamics:sign_descent"),
    "eps-placement": (r"Where $\epsilon$ goes: outside the square root, inside it, or as $\hat\epsilon$",
                      "rules.conventions:eps_placement"),
    "weight-decay-coupling": ("Coupled L2 vs decoupled weight decay", "rules.conventions:weight_decay_coupling"),
    "amsgrad-max": ("AMSGrad: the running max before or after bias correction", "rules.conventions:amsgrad_max"),
    "adagrad-first-step": (r"Adagrad's first step: torch ($S_0 = 0$, $\epsilon$ outside) vs optax ($S_0 = 0.1$, $\epsilon$ inside)",
                           "rules.classic_derivations:adagrad_first_step"),
    "adagrad-frozen-threshold": ("Adagrad on a quadratic: the accumulator threshold of stability",
                                 "rules.classic_derivations:adagrad_frozen_threshold"),
    "adadelta-learning-rate": ("Adadelta: Zeiler's step, torch's learning rate and the first step",
                               "rules.classic_derivations:adadelta_learning_rate"),
    "asgd-averaging": ("ASGD: what torch's ax averages, and its step-size schedule",
                       "rules.classic_derivations:asgd_averaging"),
    "rprop-step-growth": ("Rprop: geometric step growth and the first sign change",
                          "rules.classic_derivations:rprop_step_growth"),
    "newton-schulz": ("Muon's Newton-Schulz iteration on singular values: fixed points, bounds, why not 1",
                      "analysis.newton_schulz:newton_schulz"),
    "muon-momentum-scale": ("Muon's momentum buffer: torch's code (EMA) vs its docstring (sum) give the same step",
                            "analysis.newton_schulz:muon_momentum_scale"),
    "adafactor-factored": ("Adafactor's factored second moment: exact for a rank-1 second moment",
                           "rules.matrix:adafactor_factored"),
    "nadam-momentum-schedule": (r"NAdam: torch's momentum schedule vs optax's constant $\beta_1$",
                                "rules.adam_family_derivations:nadam_schedule"),
    "nadam-frozen-preconditioner": ("NAdam with a frozen preconditioner: its stability threshold",
                                    "rules.adam_family_derivations:nadam_frozen"),
    "radam-rectification-threshold": (r"RAdam: when the rectification starts ($\rho_t > 4$ or $\rho_t > 5$)",
                                      "rules.adam_family_derivations:radam_threshold"),
    "adamax-eps-placement": (r"Adamax: $\epsilon$ inside the max or in the denominator",
                             "rules.adam_family_derivations:adamax_eps"),
    "lion-weight-decay": (r"Lion's decoupled weight decay: what `lr * weight_decay` does",
                          "rules.adam_family_derivations:lion_decay"),
    "certificate-gd": ("Gradient descent over smooth strongly convex functions: the sector LMI and its exact rate",
                       "analysis.certificate:gd_certificate"),
    "certificate-nesterov": (r"Nesterov's method over smooth strongly convex functions: a certified rate at $\kappa = 10$",
                             "analysis.certified_methods:nesterov_certificate"),
    "certificate-triple-momentum": (r"The triple momentum method: a certified rate at $\kappa = 10$",
                                    "analysis.certified_methods:triple_momentum_certificate"),
    "heavy-ball-cycle": ("Heavy ball with Polyak's tuning cycles on a smooth strongly convex function (LRP)",
                         "analysis.counterexample:cycle_derivation"),
    "sgd-batch-noise": ("Minibatch gradient noise: the variance of a batch mean, with and without replacement",
                        "stochastic.noise:batch_noise"),
    "sgd-mean-square-stability": ("Mean-square stability of SGD: sharpness, non-uniformity and batch size",
                                  "stochastic.mean_square:sgd_mean_square"),
    "heavy-ball-sgd-mean-square": ("Mean-square stability of SGD with heavy-ball momentum",
                                   "stochastic.mean_square:heavy_ball_mean_square"),
    "sgd-stationary-noise": ("SGD on a quadratic with additive gradient noise: exact moments and stationary variance",
                             "stochastic.moments:sgd_stationary_noise"),
    "sgd-second-moment-lifted": ("Exact second moments of SGD on a quadratic: Kronecker lifting",
                                 "stochastic.moments:second_moment_lifted"),
    "heavy-ball-sgd-moments": ("Heavy ball with minibatch noise: exact stationary second moments",
                               "stochastic.moments:heavy_ball_sgd_moments"),
    "adam-frozen-sgd-moments": ("Adam with a frozen preconditioner and minibatch noise: exact stationary moments",
                                "stochastic.moments:adam_frozen_sgd_moments"),
    "sgd-sme": ("Stochastic modified equations of SGD to first and second order", "stochastic.sme:sme_general"),
    "sgd-modified-sde": ("The exact modified SDE of SGD on a quadratic, and where the SMEs agree with it",
                         "stochastic.sme:sme_quadratic"),
    "sgd-shuffling-regularizer": ("The implicit regulariser of SGD with random shuffling",
                                  "stochastic.shuffling:shuffling_regularizer"),
    "lyapunov-gradient-flow": ("The loss is a Lyapunov function of gradient flow", "analysis.lyapunov:gradient_flow"),
    "lyapunov-heavy-ball": ("The energy of the heavy-ball ODE is a Lyapunov function",
                            "analysis.lyapunov:heavy_ball_energy"),
    "descent-lemma": ("The descent lemma: the step-size condition for an ell-smooth loss",
                      "analysis.lyapunov:descent_lemma"),
    "integrator-stability": ("Optimizers as integrators of gradient flow: stability functions and regions",
                             "rules.integrators:stability_regions"),
    "proximal-point": ("Implicit Euler on gradient flow is the proximal-point method",
                       "rules.integrators:proximal_point"),
    "poisson-brackets": ("Poisson brackets from a symplectic form", "theories.hamiltonian:poisson_brackets"),
    "hermosis-brackets": ("Hermosis: the symplectic form and Poisson brackets of a learning model",
                          "theories.hermosis:hermosis_brackets"),
    "hermosis-equations": ("Hermosis: the equations of learning from the Poisson tensor",
                           "theories.hermosis:hermosis_equations"),
    "hermosis-optimizers": ("Hermosis: SGD, weight decay, momentum and relativistic GD as learning Hamiltonians",
                            "theories.hermosis:hermosis_optimizers"),
    "hermosis-covariant-metric": ("Embedding gradient moments in the metric: how close the Hamiltonian formalism "
                                  "comes to RMSProp and Adam", "theories.covariant:covariant_metric"),
    "weight-decay-pitchfork": (r"Weight decay collapses a two-layer network at $\mathrm{wd} = \lVert E[yx] \rVert$: "
                               r"a pitchfork",
                               "theories.phase:weight_decay_pitchfork"),
    "noisy-gd-stationary": (r"Gradient noise on a quadratic: the stationary loss diverges at $\eta = 2/\lambda$",
                            "theories.phase:noisy_gd_stationary"),
    "turing-instability": ("Turing instability of a two-species reaction-diffusion system",
                           "theories.turing:turing_instability"),
    "turing-schnakenberg": ("Turing patterns of the Schnakenberg model", "theories.turing:schnakenberg_turing"),
    "li2-energy": ("Grokking's independent stage is gradient ascent of an energy (Li2)",
                   "theories.grokking:li2_energy"),
    "closed-loop-rnn": ("A linear RNN in closed loop with a double integrator: the joint matrix and its four order "
                        "parameters", "theories.closed_loop:closed_loop_rnn"),
}


def names() -> list[str]:
    """All derivation names, in catalogue order."""
    return list(CATALOGUE)


def factory(name: str) -> Callable:
    """The function that builds derivation ``name``; KeyError lists the known names."""
    if name not in CATALOGUE:
        raise KeyError(f"unknown derivation {name!r}; known: {', '.join(CATALOGUE)}")
    module, func = CATALOGUE[name][1].split(":")
    return getattr(importlib.import_module(f"derive.{module}"), func)


def build(name: str):
    """Build derivation ``name`` (a :class:`derive.derivation.Derivation`)."""
    return factory(name)()
