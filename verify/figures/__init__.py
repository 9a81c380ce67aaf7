"""All plots, in one place.  Each figure function returns ``(figure, data)``: ``data`` is the
dict of arrays it draws, which ``ldyn notes --check`` hashes to tell whether a figure is
stale (pixels differ between Matplotlib versions and fonts; the plotted numbers do not).
"""
from __future__ import annotations

import numpy as np

from verify.figures.adaptive import adaptive_trajectories, effective_step_sizes
from verify.figures.backend import _plt, _stabilize, atomic_write, png_bytes
from verify.figures.certify import certified_vs_quadratic
from verify.figures.gd import gd_stability, gd_vs_flows
from verify.figures.momentum import (momentum_regime_trajectories, momentum_spectral_radius,
                                     momentum_stability_region, momentum_vs_gd)

#: name -> (function, caption, derivation it illustrates)
FIGURES = {
    "gd-stability": (gd_stability, "Contraction factor of GD per eigen-direction, regimes shaded",
                     "gd-quadratic-stability"),
    "gd-vs-flows": (gd_vs_flows, "GD follows the modified flow much more closely than gradient flow",
                    "gd-modified-equation"),
    "momentum-stability-region": (momentum_stability_region, "Damping regimes of heavy ball and Nesterov over "
                                  "(eta lambda, beta), with the stability boundary and critical damping",
                                  "heavy-ball"),
    "momentum-spectral-radius": (momentum_spectral_radius, "Spectral radius of heavy ball and Nesterov over "
                                 "(eta lambda, beta); the contour rho = 1 is the stability boundary", "heavy-ball"),
    "momentum-regime-trajectories": (momentum_regime_trajectories, "Heavy ball on a 1-D quadratic in each "
                                     "damping regime, as predicted by the roots", "heavy-ball"),
    "momentum-vs-gd": (momentum_vs_gd, "Tuned heavy ball and Nesterov vs GD on a kappa = 100 quadratic: "
                       "errors and predicted rates rho^t", "momentum-tuning"),
    "adaptive-trajectories": (adaptive_trajectories, "RMSProp, Adam and their conventions vs GD and heavy ball on a "
                              "kappa = 100 quadratic and on Rosenbrock", "adam"),
    "adaptive-effective-steps": (effective_step_sizes, "Effective per-coordinate step sizes lr/(sqrt(v-hat) + eps) "
                                 "over time: Adam, both AMSGrad conventions, RMSProp", "amsgrad-max"),
    "certified-rates": (certified_vs_quadratic, "Certified rates over all smooth strongly convex functions (solid; "
                        "exact LMI certificates) vs rates on quadratics (dashed), 1 - rho over kappa. GD's and triple "
                        "momentum's certified rates equal their quadratic rates (the dashed lines lie under the solid "
                        "ones; triple momentum's, 1 - 1/sqrt(kappa), is also Nesterov's quadratic rate); heavy ball "
                        "with Polyak's tuning has no certificate beyond kappa = 10", "certificate-nesterov"),
}


def digest(data: dict) -> str:
    """A SHA-256 of the plotted numbers: floats rounded to 6 decimals, integer arrays (category
    codes, e.g. a regime map) exactly and fast, as little-endian int64 bytes."""
    import hashlib

    h = hashlib.sha256()
    for key in sorted(data):
        a = np.asarray(data[key])
        h.update(key.encode())
        h.update(str(a.shape).encode())
        if a.dtype.kind in "biu":
            h.update(a.astype("<i8").tobytes())
            continue
        a = a.astype(float)
        h.update(np.array2string(a.ravel(), precision=6, floatmode="fixed", suppress_small=True, threshold=10**9,
                                 separator=",").encode())
    return h.hexdigest()


def render_png(name: str) -> tuple[str, bytes]:
    """Draw figure ``name``: (the digest of its data, its PNG bytes as ``ldyn notes`` writes them)."""
    func = FIGURES[name][0]
    fig, data = func()
    try:
        _stabilize(fig)  # bytes that depend on the numbers at plotting precision only
        png = png_bytes(fig, dpi=110, metadata={"Software": None})
    finally:
        _plt().close(fig)
    return digest(data), png


def render(name: str, path=None) -> str:
    """Draw figure ``name`` (to ``path`` as PNG if given, written atomically) and return its data digest."""
    if path is None:
        func = FIGURES[name][0]
        fig, data = func()
        _plt().close(fig)
        return digest(data)
    dig, png = render_png(name)
    atomic_write(path, png)
    return dig
