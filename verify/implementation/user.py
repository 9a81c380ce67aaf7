"""The user's code as ``ldyn verify-impl`` loads it: a factory, a step function or a torch-style
class, adapted to ``init``/``step`` (see :mod:`verify.implementation` for the design).

Three shapes of user code are accepted: a factory ``make(**hyper)`` returning ``init(params)`` and
``step(params, grads, state) -> (params, state)``; a plain function ``step(params, grads, state)``
(state starting as ``{}``); a torch-style class ``Cls(params, **hyper)`` with ``.step(grads)`` that
updates the arrays in ``params`` in place and keeps its own state (``params`` a list of NumPy arrays,
or one array: a one-step probe finds which; ``self.state`` — a dict, a list of dicts or a dict of one
dict per parameter — is read for the shared state entries).

``ldyn verify-impl`` calls these functions in a child process (:mod:`verify.implementation.child`)
that ignores Ctrl-C, so every ``BaseException`` the user's code raises (``SystemExit``,
``KeyboardInterrupt``, ``GeneratorExit``, a subclass of its own) is that code's failure.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import sys
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

class InputError(ValueError):
    """Bad input (spec, --set value, a factory that cannot be called): exit code 2."""


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` on one line, at most ``limit`` characters of message (a hostile ``__str__`` too)."""
    try:
        text = " ".join(str(exc).split())
    except BaseException:  # noqa: BLE001 - the user's exception may not even print
        text = "(its message cannot be shown)"
    return f"{type(exc).__name__}: " + (text if len(text) <= limit else text[:limit] + " ...")


@dataclass(frozen=True)
class Implementation:
    """The user's optimizer as ``ldyn verify-impl`` calls it."""

    kind: str  # "factory" or "step function"
    init: Callable
    step: Callable


# -- the user's code ----------------------------------------------------------------------
def load(spec: str):
    """The callable named by ``package.module:factory`` or ``path/to/file.py:factory``."""
    where, sep, attr = spec.rpartition(":")
    if not sep or not where or not attr:
        raise InputError(f"SPEC {spec!r} must be package.module:factory or path/to/file.py:factory")
    if where.endswith(".py") or "/" in where or os.sep in where:
        path = os.path.abspath(where)
        if not os.path.isfile(path):
            raise InputError(f"no such file: {where} (SPEC is path/to/file.py:factory)")
        name = "_ldyn_user_" + re.sub(r"\W", "_", os.path.splitext(os.path.basename(path))[0])
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:  # e.g. /etc/passwd: not a .py file
            raise InputError(f"{where} is not a Python file (SPEC is path/to/file.py:factory)")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        folder = os.path.dirname(path)
        sys.path.insert(0, folder)  # so the file can import the modules next to it
        try:
            module_spec.loader.exec_module(module)
        except BaseException as exc:  # noqa: BLE001 - user code (module docstring)
            del sys.modules[name]
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        finally:
            sys.path.remove(folder)
    else:
        if os.path.isfile(where):  # x.txt:sgd
            raise InputError(f"{where} is a file but not a Python file (SPEC is path/to/file.py:factory "
                             "or package.module:factory)")
        if os.getcwd() not in sys.path:  # `ldyn` (a console script) does not put it there
            sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(where)
        except ModuleNotFoundError as exc:
            if exc.name and (where + ".").startswith(exc.name + "."):
                raise InputError(f"no module named {exc.name!r}: give an importable module, "
                                 f"or a file as path/to/file.py:{attr}") from None
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        except BaseException as exc:  # noqa: BLE001 - user code (module docstring)
            raise InputError(f"importing {where} raised {_one_line(exc)}") from None
        if getattr(module, "__file__", None) is None and hasattr(module, "__path__"):
            raise InputError(f"{where} is a directory, not a module: SPEC is package.module:factory or "
                             "path/to/file.py:factory")
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            names = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
                           and getattr(v, "__module__", None) == module.__name__)
            shown = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
            raise InputError(f"{where} has no attribute {attr!r}" + (f"; it defines {shown}" if names else ""))
        obj = getattr(obj, part)
    if not callable(obj):
        raise InputError(f"{spec} is not callable (it is of type {type(obj).__name__}): give a factory returning "
                         "an optimizer (init, step), a function step(params, grads, state) or a torch-style class "
                         "Cls(params, **hyper) with step(grads)")
    return obj


def _signature(obj):
    try:
        return inspect.signature(obj)
    except (TypeError, ValueError):
        return None


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def is_step_function(obj, keywords=()) -> bool:
    """A plain ``step(params, grads, state)``: exactly three positional parameters, no defaults, none
    named like a hyperparameter (``make(lr, beta1, beta2)`` is a factory)."""
    if inspect.isclass(obj):
        return False
    sig = _signature(obj)
    ps = list(sig.parameters.values()) if sig else []
    return len(ps) == 3 and all(p.kind in _POSITIONAL and p.default is p.empty and p.name not in keywords
                                for p in ps)


def is_torch_style(obj, keywords) -> bool:
    """A class whose constructor takes a required positional first parameter that is not a
    hyperparameter: ``Cls(params, **hyper)``."""
    sig = _signature(obj) if inspect.isclass(obj) else None
    ps = list(sig.parameters.values()) if sig else []
    return bool(ps) and ps[0].kind in _POSITIONAL and ps[0].default is ps[0].empty and ps[0].name not in keywords


def accepts(obj) -> Callable[[str], bool]:
    """Whether ``obj`` can be called with a given keyword (True when it cannot be told)."""
    sig = _signature(obj)
    if sig is None or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values()):
        return lambda name: True
    return lambda name: name in sig.parameters


def _call(obj, hyper: dict) -> str:
    return f"{getattr(obj, '__name__', 'factory')}({', '.join(f'{k}={v!r}' for k, v in hyper.items())})"


def implementation(obj, hyper: dict, shape: tuple[int, ...] | None = None) -> Implementation:
    """The user's optimizer: ``obj(**hyper)``, ``obj`` itself if it is a step function, or the
    torch-style class ``obj`` adapted to init/step (probed with parameters of ``shape``, a vector if None)."""
    if is_step_function(obj, hyper):
        return Implementation("step function", lambda params: {}, obj)
    if is_torch_style(obj, hyper):
        return torch_style(obj, hyper, shape)
    call = _call(obj, hyper)
    try:
        inspect.signature(obj).bind(**hyper)
    except TypeError as exc:
        raise InputError(f"{call} fails ({exc}): the factory must accept the keywords {', '.join(hyper)}") from None
    except ValueError:  # no signature to check: call it and see
        pass
    try:
        opt = obj(**hyper)
    except BaseException as exc:  # noqa: BLE001 - user code (module docstring)
        raise InputError(f"{call} raised {_one_line(exc)}") from None
    if not (callable(getattr(opt, "init", None)) and callable(getattr(opt, "step", None))):
        raise InputError(f"{call} returned an object of type {type(opt).__name__}, which lacks init(params) "
                         "and step(params, grads, state)")
    return Implementation("factory", opt.init, opt.step)


def _torch_shape(name: str, hyper: dict, problem: str) -> InputError:
    kw = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
    return InputError(f"{name} is a class taking params first (torch-style), but {problem}; write it as: "
                      f"class {name}: def __init__(self, params, {kw}) keeping params (a list of NumPy arrays) and "
                      "its own state, and def step(self, grads) updating each params[i] in place (params[i] -= ...), "
                      "grads a list of arrays of the same shapes")


_CLASS = "__torch_style__"


def torch_style(cls, hyper: dict, shape: tuple[int, ...] | None = None) -> Implementation:
    """``cls(params, **hyper)`` with ``.step(grads)`` as init/step; a one-step probe tells whether it
    takes a list of arrays (tried first, as torch does) or one array, and that it updates in place."""
    name = cls.__name__
    try:
        inspect.signature(cls).bind(None, **hyper)
    except TypeError as exc:
        raise _torch_shape(name, hyper, f"{name}(params, ...) fails ({exc})") from None
    except ValueError:
        pass
    step = _signature(getattr(cls, "step", None)) if callable(getattr(cls, "step", None)) else None
    if step is None:
        raise _torch_shape(name, hyper, "it has no method step(grads)")
    ps = list(step.parameters.values())[1:]  # after self
    required = [p.name for p in ps if p.default is p.empty and p.kind in _POSITIONAL]
    if len(required) != 1:
        raise _torch_shape(name, hyper, f"its step takes ({', '.join(required) or 'no argument'}), not one "
                           "argument grads")
    p0, g0 = np.array([0.5, -1.5, 2.0]), np.array([0.3, -0.2, 1.0])
    if shape is not None:
        size = int(np.prod(shape))
        p0, g0 = np.linspace(-1.5, 2.0, size).reshape(shape), np.linspace(1.0, -0.2, size).reshape(shape)
    problems_seen = []
    for as_list in (True, False):
        p = p0.copy()
        box = [p] if as_list else p
        how = "a list [p]" if as_list else "one array p"
        try:
            with np.errstate(all="ignore"):
                cls(box, **hyper).step([g0.copy()] if as_list else g0.copy())
            now = np.asarray(box[0] if as_list else box, dtype=float)
        except BaseException as exc:  # noqa: BLE001 - user code (module docstring)
            problems_seen.append(f"with params {how} it raised {_one_line(exc)}")
            continue
        if now.shape == p0.shape and not np.array_equal(now, p0):
            return Implementation(f"torch-style class, params {'a list of arrays' if as_list else 'one array'}",
                                  *_adapter(cls, hyper, as_list))
        problems_seen.append(f"with params {how} step(grads) left them unchanged (update in place: p -= ...)")
    raise _torch_shape(name, hyper, "; ".join(problems_seen))


def _adapter(cls, hyper: dict, as_list: bool):
    def init(params):
        p = np.array(params, dtype=float)
        box = [p] if as_list else p
        return {_CLASS: (cls(box, **hyper), box)}

    def step(params, grads, state):
        opt, box = state[_CLASS]
        opt.step([np.array(grads, dtype=float)] if as_list else np.array(grads, dtype=float))
        return np.array(box[0] if as_list else box, dtype=float), {_CLASS: (opt, box), **_class_state(opt)}

    return init, step


def _class_state(opt) -> dict:
    """The entries of ``opt.state``: a dict, a list of dicts, or a dict holding one dict (per parameter)."""
    s = getattr(opt, "state", None)
    if isinstance(s, (list, tuple)) and s and isinstance(s[0], Mapping):
        s = s[0]
    elif isinstance(s, Mapping) and len(s) == 1 and isinstance(next(iter(s.values())), Mapping):
        s = next(iter(s.values()))
    return {k: v for k, v in s.items() if isinstance(k, str)} if isinstance(s, Mapping) else {}


def failing(message: str) -> Implementation:
    """An implementation whose init raises: a configuration the user's code could not be built for."""
    def init(params):
        raise RuntimeError(message)

    return Implementation("factory", init, lambda params, grads, state: (params, state))
