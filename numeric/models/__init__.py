"""Learning systems simulated by hand, one module per model:

- :mod:`numeric.models.rate_network`: rate networks tau x' = -x + W phi(x) + I, slow learning on W;
- :mod:`numeric.models.hermosis`: the Hermosis Hamiltonian flow and the discrete rules it predicts;
- :mod:`numeric.models.learners`: least squares and a two-layer tanh network for control-parameter sweeps;
- :mod:`numeric.models.reaction_diffusion`: a pseudo-spectral reaction-diffusion solver (Turing patterns);
- :mod:`numeric.models.reinforce`: REINFORCE on a bandit and a gridworld with exact policy gradients;
- :mod:`numeric.models.grokking`: a two-layer quadratic network on modular addition;
- :mod:`numeric.models.closed_loop`: a linear RNN agent steering a double integrator, trained with BPTT.
"""
