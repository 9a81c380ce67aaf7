"""Every hand-written optimizer, in one namespace: ``from numeric.optimizers import gd, sgd, adam``.

All follow one pure protocol (``init(params) -> state``, ``step(params, grads, state) -> (params,
state)``) with torch.optim's hyperparameter names and defaults:

- :mod:`numeric.optimizers.protocol`: the ``Optimizer`` protocol, plain ``gd`` and ``run``;
- :mod:`numeric.optimizers.momentum`: heavy ball, Nesterov and torch-style ``sgd``;
- :mod:`numeric.optimizers.adaptive`: torch-style ``rmsprop``, ``adam`` and ``adamw`` (with the
  optax/TF/paper conventions as options).
"""
from numeric.optimizers.protocol import GD, GradFn, Optimizer, State, gd, run
from numeric.optimizers.momentum import SGD, HeavyBall, Nesterov, heavy_ball, nesterov, nesterov_lookahead_step, sgd
from numeric.optimizers.adaptive import Adam, AdamW, RMSprop, adam, adamw, rmsprop

__all__ = ["State", "GradFn", "Optimizer", "GD", "gd", "run",
           "HeavyBall", "Nesterov", "SGD", "heavy_ball", "nesterov", "nesterov_lookahead_step", "sgd",
           "RMSprop", "Adam", "AdamW", "rmsprop", "adam", "adamw"]
