"""Certified rates of Nesterov's method and the triple momentum method at kappa = 10, as pages.

Each certificate is a witness — a Lyapunov matrix P over (theta, v or theta_prev, zeta) and the IQC
multipliers, in small rationals — found once by ``ldyn certify``'s solver (verify.certify) at a rate
rounded up, then rounded to the denominators below.  Nothing here trusts the solver: the page
(:func:`derive.analysis.certificate.certificate_derivation`) re-derives the state-space form and the LMI
and proves the certificate exactly (P = Lw diag(d) Lw^T with d > 0, -LMI = Lw diag(d) Lw^T with d >= 0), so
the rate it prints is a theorem for every L-smooth, mu-strongly convex f (Lessard, Recht & Packard 2016,
Theorem 4, with the rho-weighted off-by-one IQC of their Lemma 10).

The hyperparameters are rationals close to the standard tunings for mu = 1, L = 10:
Nesterov's lr = 1/L and momentum (sqrt(kappa) - 1)/(sqrt(kappa) + 1) = 0.5195 (taken as 13/25); the triple
momentum method's lr = (1 + rho)/L, beta = rho^2/(2 - rho), gamma = rho^2/((1 + rho)(2 - rho)) with
rho = 1 - 1/sqrt(kappa) (Van Scoy, Freeman & Lynch 2018), each to 4 decimals.
"""
from __future__ import annotations

import sympy as sp

from derive.analysis.certificate import certificate_derivation
from derive.derivation import Derivation

R = sp.Rational

#: name -> (rule, hyperparameters, mu, L, rho, P over (state, zeta), multipliers (sector, off-by-one))
WITNESSES = {
    "nesterov": ("nesterov", {"lr": R(1, 10), "momentum": R(13, 25)}, 1, 10, R(753, 1000),
                 [[1, R(9497, 50000), R(7883, 100000)], [R(9497, 50000), R(13197, 25000), R(-1097, 100000)],
                  [R(7883, 100000), R(-1097, 100000), R(31, 4000)]],
                 [0, R(113131, 10000000)]),
    "triple-momentum": ("triple-momentum", {"lr": R(421, 2500), "beta": R(222, 625), "gamma": R(211, 1000)},
                        1, 10, R(685, 1000),
                        [[1, R(629881, 1000000), R(160853, 1000000)],
                         [R(629881, 1000000), R(43699, 100000), R(21443, 200000)],
                         [R(160853, 1000000), R(21443, 200000), R(13369, 500000)]],
                        [0, R(46257, 100000000)]),
}


def _page(key: str, name: str, title: str, summary: str) -> Derivation:
    rule, values, mu, L, rho, P, lams = WITNESSES[key]
    d = certificate_derivation(rule, values, mu, L, "off-by-one", rho, P, lams)
    d.name, d.title = name, title
    d.summary = summary + " " + (d.summary or "")
    return d


def nesterov_certificate() -> Derivation:
    return _page("nesterov", "certificate-nesterov",
                 r"Nesterov's method over smooth strongly convex functions: a certified rate at $\kappa = 10$",
                 r"Nesterov's method (look-ahead form) with step size $\eta = 1/10$ (`lr`) and momentum "
                 r"$\beta = 13/25$ (the standard tuning $(\sqrt\kappa - 1)/(\sqrt\kappa + 1) = 0.5195$ rounded) "
                 r"converges at rate $0.753$ on every $10$-smooth, $1$-strongly convex function; on quadratics its "
                 r"rate is $0.684$, and Nesterov's own bound $\sqrt{1 - 1/\sqrt\kappa}$ is $0.827$.")


def triple_momentum_certificate() -> Derivation:
    return _page("triple-momentum", "certificate-triple-momentum",
                 r"The triple momentum method: a certified rate at $\kappa = 10$",
                 r"The triple momentum method (Van Scoy, Freeman & Lynch 2018), tuned for $\kappa = 10$ to 4 "
                 r"decimals, converges at rate $0.685$ on every $10$-smooth, $1$-strongly convex function; its "
                 r"designed rate is $1 - 1/\sqrt{10} = 0.6838$.")
