"""Stochastic learning dynamics: minibatch SGD's gradient noise, derived.

* :mod:`derive.stochastic.noise` — the variance of a batch mean, with and without replacement;
* :mod:`derive.stochastic.mean_square` — mean-square linear stability (Wu, Ma & E 2018) of SGD and heavy ball;
* :mod:`derive.stochastic.moments` — exact first and second moments on quadratics (Kronecker lifting), stationary
  covariances;
* :mod:`derive.stochastic.sme` — stochastic modified equations (Li, Tai & E) and the exact modified SDE on quadratics;
* :mod:`derive.stochastic.shuffling` — the implicit regulariser of random reshuffling (Smith, Dherin, Barrett & De 2021).
"""
