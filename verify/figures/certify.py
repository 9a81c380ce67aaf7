"""The certified-rates figure: the rate a Lyapunov certificate proves over all L-smooth, mu-strongly convex
functions (verify.certify: an LMI solved by cvxpy, then checked exactly by SymPy) against the rate on
quadratics, over the condition number kappa = L/mu, for four tuned methods."""
from __future__ import annotations

import functools

import numpy as np

from verify.figures.backend import _plt

#: the tunings drawn (expressions in mu, L, kappa, as ``ldyn certify --set`` takes them)
TUNINGS = {
    "gd": ("GD, lr = 2/(mu + L)", {"lr": "2/(mu + L)"}),
    "heavy-ball": ("heavy ball, Polyak's tuning", {"lr": "4/(sqrt(L) + sqrt(mu))**2",
                                                   "momentum": "((sqrt(kappa) - 1)/(sqrt(kappa) + 1))**2"}),
    "nesterov": ("Nesterov, lr = 1/L, momentum = (sqrt(kappa) - 1)/(sqrt(kappa) + 1)",
                 {"lr": "1/L", "momentum": "(sqrt(kappa) - 1)/(sqrt(kappa) + 1)"}),
    "triple-momentum": ("triple momentum (Van Scoy et al. 2018)",
                        {"lr": "(2 - 1/sqrt(kappa))/L",
                         "beta": "(1 - 1/sqrt(kappa))**2/(1 + 1/sqrt(kappa))",
                         "gamma": "(1 - 1/sqrt(kappa))**2/((2 - 1/sqrt(kappa))*(1 + 1/sqrt(kappa)))"}),
}
KAPPAS = (2.0, 5.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
COLORS = {"gd": "tab:gray", "heavy-ball": "tab:red", "nesterov": "tab:blue", "triple-momentum": "tab:green"}


@functools.lru_cache(maxsize=4)
def certified_rates(kappas=KAPPAS) -> dict:
    """{method: (certified rates, quadratic rates)} over ``kappas`` (a tuple) with mu = 1 (NaN where no
    certificate); the off-by-one IQC, no counterexample search.  Cached: 28 certifications take ~17 s."""
    from verify.certify import certify

    out = {}
    for name, (_, values) in TUNINGS.items():
        cert, quad = [], []
        for k in kappas:
            rep = certify(name, 1.0, float(k), values, iqc="off-by-one", counterexample=False)
            cert.append(np.nan if rep["rate"] is None or not rep["certificate_checked"] else rep["rate"])
            quad.append(rep["quadratic_rate"])
        out[name] = (np.round(np.array(cert, float), 5), np.round(np.array(quad, float), 5))
    return out


def certified_vs_quadratic():
    """1 - rate (log scale) over kappa: certified over S(mu, L) (solid) vs on quadratics (dashed)."""
    kappas = np.array(KAPPAS)
    rates = certified_rates(KAPPAS)
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    data = {"kappa": kappas}
    short = {"gd": "GD, lr = 2/(mu+L)", "heavy-ball": "heavy ball, Polyak", "nesterov": "Nesterov, standard",
             "triple-momentum": "triple momentum"}
    for name, (cert, quad) in rates.items():
        ax.plot(kappas, 1 - quad, "--", color=COLORS[name], lw=1)
        ax.plot(kappas, 1 - cert, "o-", color=COLORS[name], lw=1.8, ms=4, label=short[name])
        data[f"{name}/certified"] = cert
        data[f"{name}/quadratic"] = quad
    ax.plot([], [], "k-", marker="o", ms=4, label="certified over S(mu, L)")
    ax.plot([], [], "k--", lw=1, label="rate on quadratics")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"$\kappa = L/\mu$")
    ax.set_ylabel(r"$1 - \rho$ (larger is faster)")
    ax.set_title("Certified rates vs rates on quadratics")
    ax.legend(loc="lower left", fontsize=7)
    fig.tight_layout()
    return fig, data
