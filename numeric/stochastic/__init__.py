"""Stochastic learning dynamics, hand-written: finite-sum problems, minibatch sampling, SGD, Monte Carlo, SDEs.

- :mod:`numeric.stochastic.per_sample`: per-sample quadratic, least-squares and logistic losses with exact
  per-sample gradients and Hessians; sharpness and non-uniformity (Wu, Ma & E 2018);
- :mod:`numeric.stochastic.sampling`: batches with / without replacement, random reshuffling, and the exact
  batch distribution for small n;
- :mod:`numeric.stochastic.sgd`: vectorised 1-D SGD paths, SGD runs on a problem, and by enumeration of the
  batch law: exact moments, the second-moment operator, the exact stationary law, the exact law of theta_t;
- :mod:`numeric.stochastic.monte_carlo`: Student-t intervals for Monte Carlo means and per-seed results;
- :mod:`numeric.stochastic.sde`: Euler-Maruyama, the exact Ornstein-Uhlenbeck law, EM's weak order.

This package never imports ``derive``, ``verify`` or SymPy.
"""
from numeric.stochastic.per_sample import (
    LeastSquaresProblem, LogisticProblem, PerSampleProblem, QuadraticProblem, least_squares, logistic, quadratic,
    quadratic_1d, sharpness_nonuniformity,
)
from numeric.stochastic.sampling import all_batches, batch_count, batch_indices, epoch_batches
from numeric.stochastic.sgd import (
    exact_distribution_1d, exact_moments, exact_stationary, second_moment_operator, sgd_paths, sgd_run,
)
from numeric.stochastic.monte_carlo import interval_error, mean_ci, seeds_ci
from numeric.stochastic.sde import em_ou_moments, euler_maruyama, ou_moments, weak_order

__all__ = ["PerSampleProblem", "QuadraticProblem", "LeastSquaresProblem", "LogisticProblem", "quadratic_1d",
           "quadratic", "least_squares", "logistic", "sharpness_nonuniformity",
           "batch_indices", "epoch_batches", "all_batches", "batch_count",
           "sgd_paths", "sgd_run", "exact_moments", "exact_distribution_1d", "second_moment_operator",
           "exact_stationary",
           "mean_ci", "seeds_ci", "interval_error",
           "euler_maruyama", "ou_moments", "em_ou_moments", "weak_order"]
