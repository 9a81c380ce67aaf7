"""Export a derived rule to torch: ``torch_optimizer(rule)`` (or ``rule.to_torch()``) returns a
``torch.optim.Optimizer`` subclass that computes the rule's update over each param group.

The class is generated as Python source (kept as its ``source`` attribute) and the update itself as
one kernel per branch of the step counter and per set of zero hyperparameters, generated when first
needed (``kernel_sources()``): for a kernel the Piecewise in t is resolved in Python (torch SGD's
first step is its own kernel), zero hyperparameters are substituted (a zero weight decay costs
nothing), subexpressions of t and the hyperparameters alone are Python floats computed once per step,
common subexpressions are shared (``sympy.cse``), and each remaining operation is a ``torch._foreach_*``
call over the group's tensors — in place on a state whose old value is read for the last time
(m ← β₁m + (1 − β₁)g as ``_foreach_lerp_``, θ ← θ − c·m/D as ``_foreach_addcdiv_``),
in place on temporaries at their last use.  An operation with no foreach form (a Piecewise in the
state, Heaviside, ...) becomes a loop over the group's tensors of the expression printed by SymPy's
``TorchPrinter``.  Tensors are created with the device and dtype of their parameter.

Hyperparameters keep the rule's (torch) names; ``beta1, beta2, ...`` become ``betas=(β₁, β₂, ...)``
and ``etas1, etas2`` (any stem ending in s) ``etas=(...)``, as torch.optim spells them.
Structural options (nesterov, amsgrad, ...) are fixed by the rule the class was made from.
Refused with a one-line ValueError: whole-array functions (Muon), an oracle applied away from θ (a
look-ahead: export its buffer form), unknown functions, symbols that are neither state nor
hyperparameters, and names that are not Python identifiers.
"""
from __future__ import annotations

from derive.export.optimizer import torch_optimizer

__all__ = ["torch_optimizer"]
