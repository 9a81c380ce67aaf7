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

Writing files (every command that writes goes through these): :func:`atomic_write` writes a
temporary file in the target's folder, fsyncs it and renames it over the target, so an interrupted
run (Ctrl-C, SIGTERM, a crash) leaves the old file or the new one, never a truncated one;
:func:`save_figure` renders a figure to PNG bytes in memory and writes them so; :func:`output_folder`
checks an ``--out`` folder before anything runs (OutputPathError, a ValueError, with one line).
"""
from __future__ import annotations

import os
from pathlib import Path

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


class OutputPathError(ValueError):
    """An output folder that cannot be used (empty, a file, under a file, unwritable): bad input."""


def output_folder(out, option: str = "--out", create: bool = True) -> Path:
    """``out`` as a folder files can be written into, created if missing; OutputPathError (one line) for
    '' (it would mean the current folder), a path that is a file (/dev/null included) or lies under one,
    or a folder that cannot be created or written into.  ``create=False``: an existing folder to read."""
    text = os.fspath(out) if isinstance(out, (str, os.PathLike)) else None
    if text is None:
        raise OutputPathError(f"{option} must be a folder path, got {out!r}")
    if not text.strip():
        raise OutputPathError(f"{option} {text!r}: empty folder name (it would mean the current folder); "
                              f"give a folder, e.g. {option} ./out")
    if "\0" in text:
        raise OutputPathError(f"{option} {text!r}: a path cannot contain a NUL character")
    path = Path(text)
    shown = text if len(text) <= 80 else text[:77] + "..."
    try:  # a name too long for the file system (ENAMETOOLONG) raises even from exists()
        if path.exists() and not path.is_dir():
            raise OutputPathError(f"{option} {shown}: exists and is not a folder")
        for parent in path.parents:
            if parent.exists() and not parent.is_dir():
                raise OutputPathError(f"{option} {shown}: {parent} exists and is not a folder")
        if not create:
            if not path.is_dir():
                raise OutputPathError(f"{option} {shown}: no such folder")
            return path
    except OSError as exc:
        raise OutputPathError(f"{option} {shown}: not a usable path ({exc.strerror or exc})") from None
    try:
        path.mkdir(parents=True, exist_ok=True)
        import tempfile

        fd, probe = tempfile.mkstemp(prefix=".ldyn-write-test-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputPathError(f"{option} {shown}: cannot write there ({exc.strerror or exc})") from None
    return path


_UMASK: list[int] = []


def _file_mode() -> int:
    """The mode a plain ``open(path, "w")`` would give a new file (0o666 less the umask)."""
    if not _UMASK:
        mask = os.umask(0o022)
        os.umask(mask)
        _UMASK.append(mask)
    return 0o666 & ~_UMASK[0]


def atomic_write(path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, flushed and fsynced,
    then renamed over ``path`` (os.replace); the temporary file is removed if anything fails or the run
    is interrupted, so ``path`` is always the old file or the new one, never a truncated one."""
    import tempfile

    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # make the rename itself durable
        dfd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def png_bytes(fig, **kwargs) -> bytes:
    """``fig`` as PNG bytes (``savefig`` keywords), rendered in memory."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", **kwargs)
    return buf.getvalue()


def save_figure(fig, path, **kwargs) -> None:
    """``fig.savefig(path, **kwargs)`` as PNG, written atomically (:func:`atomic_write`)."""
    atomic_write(path, png_bytes(fig, **kwargs))
