"""Checks of the stochastic derivations (derive/stochastic/) against exact enumeration over batches, Monte Carlo with
t-intervals and simulated SDEs (numeric/stochastic/)."""
