"""Certified convergence rates over L-smooth, mu-strongly convex functions (``ldyn certify``).

* :func:`certify` -- the rate SDP of Lessard, Recht & Packard (2016) solved by bisection on rho, its
  certificate rounded to rationals and checked exactly (:mod:`verify.certify.solve`); where none exists, a
  counterexample search (:mod:`verify.certify.search`).
* :func:`format_report` -- the report as text.
"""
from verify.certify.report import IQCS, certify, format_report, quadratic_rate  # noqa: F401
from verify.certify.values import CertifyError  # noqa: F401
