"""Checks of the optimizer zoo (issue #16): one module per family, each function returning list[CheckResult];
:func:`lockstep_error` is the comparison of a lambdified rule with a hand-written optimizer they share."""
from __future__ import annotations

import warnings

import numpy as np

from verify.checks import relative_error


def lockstep_error(sym, hand, p0: np.ndarray, gradients) -> float:
    """Worst relative error of one step of the two maps (params and every state entry of the rule), from the
    same (params, state) at each point of the hand-written run: in lockstep, so that rounding differences
    are not amplified by the dynamics.  Warnings of a branch a Piecewise does not take (RAdam's unrectified
    square root of a negative number) are silenced; its value is not used."""
    p = np.asarray(p0, dtype=float)
    sh, keys = hand.init(p), list(sym.init(p))
    worst = 0.0
    for gk in gradients:
        ss = {k: np.broadcast_to(np.asarray(sh[k], float), p.shape).copy() for k in keys}
        with warnings.catch_warnings(), np.errstate(invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            ps, ss = sym.step(p, gk, ss)
        p, sh = hand.step(p, gk, sh)
        worst = max(worst, relative_error(ps, p),
                    *(relative_error(ss[k], np.broadcast_to(np.asarray(sh[k], float), p.shape)) for k in keys))
    return worst
