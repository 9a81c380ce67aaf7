"""Hand-written NumPy/SciPy numerics for learning as a dynamical system.

Subpackages and modules (imported lazily on first attribute access):

- ``numeric.optimizers``: every optimizer, one pure protocol (``init`` / ``step``), ``gd`` and ``run``;
  heavy ball, Nesterov, torch-style ``sgd``, ``rmsprop``, ``adam``, ``adamw``.
- ``numeric.autodiff``: the from-scratch ``Tensor``, networks, Hessian tools, landscapes, data sets.
- ``numeric.models``: rate networks, Hermosis systems, sweep learners, reaction-diffusion, REINFORCE,
  grokking, closed-loop RNN.
- ``numeric.stochastic``: per-sample problems (least squares, logistic, quadratics) with exact per-sample Hessians,
  minibatch sampling with and without replacement, SGD paths, exact moments by enumerating all batches, Monte Carlo
  intervals, Euler–Maruyama and Ornstein–Uhlenbeck.
- ``numeric.problems``: test problems (quadratic, Rosenbrock, 2-layer factorization).
- ``numeric.flow``: gradient flow theta' = -grad L(theta) via ``scipy.integrate.solve_ivp``.
- ``numeric.integrators``: fixed-step Euler/Heun/RK4/implicit Euler, adaptive solve_ivp, stability and work.
- ``numeric.step_size``: divergence, measured critical step size and convergence rate.
- ``numeric.sweep``: control-parameter sweeps over seeds, transitions with error bars.
- ``numeric.correlation``: correlations with confidence intervals (Student t, Fisher).
- ``numeric.validation``: argument checks shared by every module.

This package never imports ``derive``, ``verify`` or SymPy.
"""

import importlib

__all__ = ["optimizers", "autodiff", "models", "stochastic", "problems", "flow", "integrators", "step_size", "sweep",
           "correlation", "validation"]


def __getattr__(name):
    """Import the submodule ``numeric.<name>`` on first access."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
