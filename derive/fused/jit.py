"""The fused step as one compiled loop over the elements (Numba), for large arrays.

The NumPy kernels of :mod:`derive.fused` pass over memory once per ufunc call (in blocks that stay in the
cache), and each call is a separate SIMD loop: Adam at n = 10⁶ costs about 2.4 ns per element on this
project's 2-core machine, most of it ``np.sqrt`` (≈ 1 ns) and the ten other ufuncs (≈ 0.14 ns each), so it
cannot come within 3× of the memory-bandwidth bound.  Here the same three-address ops
(:class:`~derive.fused.codegen.Op`, after the same specialisation, common subexpressions and per-step
scalars) are printed as scalar statements inside one ``for i in range(n)`` loop: every array element is
read once, every new value written once, nothing else touches memory, and LLVM vectorises the loop
(``error_model="numpy"``: a division by zero is IEEE inf/nan, no Python exception branch in the loop).

Semantics are the NumPy kernels': the element functions are NumPy's (``np.sqrt``, ``np.power``,
``np.maximum`` with its NaN propagation, ...) as Numba implements them for scalars, a Piecewise over
arrays is a conditional expression, so results agree with the plain path to rounding (the tests hold
them to 1e-14 relative on every catalogue rule).

Numba is optional (the ``jit`` extra): without it, or where it cannot compile a kernel, the NumPy
kernels run.  A kernel depends on the rule, the zero/one pattern and the Piecewise branches only
(hyperparameters, coefficients and t are arguments), so it is compiled once per process for all
hyperparameter values, on the first step that uses it (≈ 0.3–0.6 s).
"""
from __future__ import annotations

import importlib.util
import threading

from derive.fused.codegen import Op

#: arrays at least this long use the compiled loop when ``jit`` is None (the default): below it the NumPy
#: kernels are fast enough and no step waits for a compilation
JIT_FROM = 1 << 16

#: held while a loop is compiled (re-entrant: Program.jitted holds it around its cache lookup)
LOCK = threading.RLock()


def available() -> bool:
    """Whether Numba is installed (looked up without importing it)."""
    return importlib.util.find_spec("numba") is not None


_INFIX = {"np.add": "+", "np.subtract": "-", "np.multiply": "*", "np.divide": "/"}


def _element(op: Op, args: list[str], scalar: list[bool]) -> str:
    """One op on scalars (the element ``i`` of every array operand), with NumPy's semantics where Numba's
    scalar functions differ: ``np.sign(-0.0)`` is +0.0, ``np.maximum``/``np.minimum`` return the second
    operand on a tie (the zero of its sign) and the first when it is nan, ``np.power`` by a scalar 0.5 is
    ``np.sqrt`` (NumPy's fast path: -0.0 and nan at -inf, where ``pow`` gives +0.0 and +inf)."""
    if op.func in _INFIX:
        return f"({args[0]} {_INFIX[op.func]} {args[1]})"
    if op.func == "where":
        pairs = list(zip(args[0::2], args[1::2]))
        text = pairs[-1][0] if pairs[-1][1] == "True" else "np.nan"
        for value, cond in reversed(pairs[:-1] if pairs[-1][1] == "True" else pairs):
            text = f"(float({value}) if {cond} else float({text}))"
        return text
    if op.func in ("np.maximum", "np.minimum"):
        a, b = args
        return f"({a} if ({a} {'>' if op.func == 'np.maximum' else '<'} {b} or {a} != {a}) else {b})"
    if op.func == "np.sign":
        a = args[0]
        return f"(1.0 if {a} > 0.0 else (-1.0 if {a} < 0.0 else {a} * 0.0 + 0.0))"
    if op.func == "np.power" and scalar[1]:
        a, e = args
        return f"(np.sqrt({a}) if {e} == 0.5 else {a} ** {e})"
    return f"{op.func}({', '.join(args)})"  # np.sqrt, np.power, np.greater, np.logical_and, np.exp, ...


def loop_source(ops: list[Op], n_in: int, outputs: list, coef_names: list[str], n_hyper: int,
                inplace: bool) -> tuple[str, int, list[bool]]:
    """``kernel(n, <coefficients>, h0.., t, S0.., [O0..])``: the ops on elements 0..n-1 of flat arrays.
    ``S{n_in - 1}`` is the gradient; the new values go into ``S{j}`` (in place) or ``O{j}`` (pure).
    Returns the source, the number of scalar parameters after n, and per array parameter whether it is
    only read (typed read-only, so read-only inputs are taken as they are)."""
    params = ["n", *coef_names, *(f"h{i}" for i in range(n_hyper)), "t", *(f"S{i}" for i in range(n_in))]
    if not inplace:
        params += [f"O{j}" for j in range(len(outputs))]
    used = sorted({a[1] for op in ops for a in op.args if a[0] == "v" and a[1] < n_in}
                  | {o[1] for o in outputs if o[0] == "v" and o[1] < n_in})
    lines = [f"def kernel({', '.join(params)}):", "    for i in range(n):"]
    lines += [f"        x{k} = S{k}[i]" for k in used]  # every input read before any output is written
    for k, op in enumerate(ops):
        args = [a[1] if a[0] == "c" else f"x{a[1]}" for a in op.args]
        lines.append(f"        x{n_in + k} = {_element(op, args, [a[0] == 'c' for a in op.args])}")
    for j, o in enumerate(outputs):
        value = o[1] if o[0] == "c" else f"x{o[1]}"
        lines.append(f"        {'S' if inplace else 'O'}{j}[i] = {value}")
    readonly = [i == n_in - 1 or not inplace for i in range(n_in)] + [False] * (0 if inplace else len(outputs))
    return "\n".join(lines) + "\n", 1 + len(coef_names) + n_hyper, readonly


def compile_loop(text: str, name: str, n_scalars: int, readonly: list[bool]):
    """The Numba-compiled ``kernel`` of ``text`` for an int64 n, ``n_scalars`` float64 scalars and contiguous
    1-D float64 arrays (read-only where ``readonly`` says so; writeable arrays are taken there too),
    compiled now; None when Numba is missing, does not import, or cannot compile it (the NumPy kernels
    serve then)."""
    if not available():
        return None
    import numpy as np

    try:
        import numba
    except Exception:  # noqa: BLE001  (installed but broken, e.g. built for another NumPy: the NumPy kernels)
        return None

    arrays = [numba.types.Array(numba.float64, 1, "C", readonly=r) for r in readonly]
    sig = numba.void(numba.int64, *[numba.float64] * n_scalars, *arrays)
    ns = {"np": np}
    with LOCK:
        exec(compile(text, f"<jit {name}>", "exec"), ns)
        try:
            return numba.njit(sig, error_model="numpy", nogil=True, boundscheck=False)(ns["kernel"])
        except Exception:  # noqa: BLE001  (a construct Numba does not type: the NumPy kernels run it)
            return None
