"""Every hand-written optimizer, in one namespace: ``from numeric.optimizers import adam, nadam, muon, lion``.

All follow one protocol (``init(params) -> state``, the pure ``step(params, grads, state) ->
(params, state)`` and ``step_(params, grads, state)`` in place) with torch.optim's hyperparameter
names and defaults; ``params`` is an array of any shape or a list of arrays (one state per array,
like a torch param group; Muon takes 2-D matrices):

- :mod:`numeric.optimizers.protocol`: the ``Optimizer`` protocol, ``ArrayOptimizer``, plain ``gd`` and ``run``;
- :mod:`numeric.optimizers.momentum`: heavy ball, Nesterov and torch-style ``sgd``;
- :mod:`numeric.optimizers.adaptive`: torch-style ``rmsprop``, ``adam`` and ``adamw`` (with the
  optax/TF/paper conventions as options);
- :mod:`numeric.optimizers.classic`: torch-style ``adagrad``, ``adadelta``, ``asgd`` and ``rprop``;
- :mod:`numeric.optimizers.matrix`: torch-style ``adafactor`` and ``muon`` (whole-tensor updates);
- :mod:`numeric.optimizers.adam_family`: torch-style ``nadam``, ``radam``, ``adamax`` and ``lion``.
"""
from numeric.optimizers.protocol import GD, ArrayOptimizer, GradFn, Optimizer, State, gd, run
from numeric.optimizers.momentum import SGD, HeavyBall, Nesterov, heavy_ball, nesterov, nesterov_lookahead_step, sgd
from numeric.optimizers.adaptive import Adam, AdamW, RMSprop, adam, adamw, rmsprop
from numeric.optimizers.matrix import Adafactor, Muon, adafactor, muon
from numeric.optimizers.classic import ASGD, Adadelta, Adagrad, Rprop, adadelta, adagrad, asgd, rprop
from numeric.optimizers.adam_family import Adamax, Lion, NAdam, RAdam, adamax, lion, nadam, radam

__all__ = ["State", "GradFn", "Optimizer", "ArrayOptimizer", "GD", "gd", "run",
           "HeavyBall", "Nesterov", "SGD", "heavy_ball", "nesterov", "nesterov_lookahead_step", "sgd",
           "RMSprop", "Adam", "AdamW", "rmsprop", "adam", "adamw",
           "Adafactor", "Muon", "adafactor", "muon",
           "Adagrad", "Adadelta", "ASGD", "Rprop", "adagrad", "adadelta", "asgd", "rprop",
           "NAdam", "RAdam", "Adamax", "Lion", "nadam", "radam", "adamax", "lion"]
