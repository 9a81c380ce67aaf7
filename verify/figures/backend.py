"""Matplotlib with the non-interactive Agg backend, imported only when a figure is drawn, and
``_stabilize``: what makes a figure's PNG bytes a function of its numbers at plotting precision.

Why: the plotted arrays come out of BLAS (OpenBLAS picks its kernels for the CPU it runs on),
NumPy's SIMD loops, SciPy's integrators, ...; two runs can therefore produce numbers that differ
in their last bits.  Agg's anti-aliasing turns such differences into different pixel shades:
adding relative noise of 1e-15 to the contour grid of ``gd-vs-flows`` changes 3 to 7 pixels
(and every byte after them in the compressed PNG).  ``_stabilize`` rounds every float that reaches
the renderer (line data, collection paths, images, autoscaled limits) to 24 significant bits, i.e.
a relative 6e-8, about 1e-4 of a pixel on these figures: invisible, and two runs then draw
bit-identical vertices unless a value sits within its last-bit noise of a rounding boundary
(probability about 2^-28 per value).  Contours need more: which segments a contour path joins and
closes (its path codes) is decided from the grid values, so rounding the drawn paths afterwards is
not enough (measured: same vertices, different codes); ``_contour`` rounds the grid before
contouring, and every figure draws its contours through it.
"""
from __future__ import annotations

import numpy as np

_BITS = 24  # significant bits kept: float32 precision, far below a pixel, far above float64 noise


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _snap(values) -> np.ndarray:
    """Round a float array to ``_BITS`` significant bits (exactly, in binary: frexp/ldexp are exact);
    masks, nan and inf are kept, non-float arrays are returned unchanged."""
    arr = np.ma.asarray(values)
    if arr.dtype.kind != "f":
        return values
    data = np.ma.getdata(arr)
    with np.errstate(invalid="ignore"):
        mant, exp = np.frexp(data)
        snapped = np.ldexp(np.round(mant * 2.0**_BITS) / 2.0**_BITS, exp)
    snapped = np.where(np.isfinite(data), snapped, data)
    return np.ma.array(snapped, mask=np.ma.getmask(arr)) if np.ma.is_masked(arr) else snapped


def _stabilize(fig) -> None:
    """Round, in place, every float the renderer will draw in ``fig`` (see the module docstring):
    Line2D data, the paths and offsets of collections (contours included), image arrays, and the
    autoscaled axis limits (computed from the data, so they carry its noise too)."""
    from matplotlib.collections import Collection
    from matplotlib.image import AxesImage
    from matplotlib.lines import Line2D

    for artist in fig.findobj():
        if isinstance(artist, Line2D):
            artist.set_data(_snap(np.asarray(artist.get_xdata(), dtype=float)),
                            _snap(np.asarray(artist.get_ydata(), dtype=float)))
        elif isinstance(artist, Collection):
            for path in artist.get_paths():
                if not path.readonly:
                    path.vertices = _snap(path.vertices)
            offsets = artist.get_offsets()
            if len(offsets):
                artist.set_offsets(_snap(np.asarray(offsets, dtype=float)))
        elif isinstance(artist, AxesImage):
            artist.set_data(_snap(artist.get_array()))
    for ax in fig.axes:  # limits set by hand carry no noise and are kept exactly
        if ax.get_autoscalex_on():
            ax.set_xlim(*(float(v) for v in _snap(np.array(ax.get_xlim(), dtype=float))))
        if ax.get_autoscaley_on():
            ax.set_ylim(*(float(v) for v in _snap(np.array(ax.get_ylim(), dtype=float))))


def _contour(ax, x, y, z, **kwargs):
    """``ax.contour`` on the grid rounded by ``_snap`` (and numeric ``levels`` too): the contour
    paths, codes included, are then the same in every run (see the module docstring)."""
    levels = kwargs.get("levels")
    if levels is not None and not isinstance(levels, (int, np.integer)):
        kwargs["levels"] = _snap(np.asarray(levels, dtype=float))
    return ax.contour(_snap(np.asarray(x, dtype=float)), _snap(np.asarray(y, dtype=float)),
                      _snap(np.asarray(z, dtype=float)), **kwargs)
