"""Hand-written NumPy/SciPy numerics for learning as a dynamical system.

Submodules (imported lazily on first attribute access):

- ``numeric.optimizers``: the pure optimizer protocol, ``gd`` and ``run``.
- ``numeric.momentum``: heavy ball, Nesterov and torch-style ``sgd``.
- ``numeric.adaptive``: torch-style ``rmsprop``, ``adam`` and ``adamw`` (with optax/TF/paper variants).
- ``numeric.problems``: test problems (quadratic, Rosenbrock, 2-layer factorization).
- ``numeric.flow``: gradient flow theta' = -grad L(theta) via ``scipy.integrate.solve_ivp``.
- ``numeric.step_size``: divergence, measured critical step size and convergence rate.
- ``numeric.integrators``: fixed-step Euler/Heun/RK4/implicit Euler, adaptive solve_ivp, stability and work.
- ``numeric.rate_network``: rate networks tau x' = -x + W phi(x) + I, slow learning on W, population codes.
- ``numeric.hessian``: the Hessian through Hessian-vector products: top eigenpairs, condition number, SLQ density.
- ``numeric.landscape``: filter-normalized directions, 1-D/2-D loss slices, trajectories projected on a plane.
- ``numeric.tensor``: a reverse-mode autodiff ``Tensor`` (double backward for Hessian-vector products), ``Parameter``.
- ``numeric.nn``: ``MLP``, losses, flat-vector ``loss_fn`` (f, grad, hvp) and a hand-written NumPy backprop.
- ``numeric.datasets``: seeded XOR, two moons, spirals, teacher-student and linear/logistic regression data.
- ``numeric.hermosis``: the Hermosis Hamiltonian flow in (w, X, U, beta), its discrete rules and França et al.'s RGD.

This package never imports ``derive``, ``verify`` or SymPy.
"""

import importlib

__all__ = ["optimizers", "momentum", "adaptive", "problems", "flow", "step_size", "integrators",
           "rate_network", "hessian", "landscape", "tensor", "nn", "datasets", "hermosis"]


def __getattr__(name):
    """Import the submodule ``numeric.<name>`` on first access."""
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
