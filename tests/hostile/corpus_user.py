"""Hand-written hostile cases for modified-equation, verify-impl (hostile user files) and sweep."""
from __future__ import annotations

from .case import NONFINITE, NOT_NUMBERS, Builder

# a correct torch.optim.SGD in NumPy, written for these cases (the factory form of verify-impl)
SGD = '''import numpy as np


def sgd(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    class Opt:
        def init(self, params):
            return {"buf": None}

        def step(self, params, grads, state):
            g = np.asarray(grads, float) + weight_decay * np.asarray(params, float)
            buf = state["buf"]
            if momentum:
                buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
                g = g + momentum * buf if nesterov else buf
            return params - lr * g, {"buf": buf}
    return Opt()
'''
ADAM = '''import numpy as np


def adam(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False):
    b1, b2 = betas

    class Opt:
        def init(self, params):
            z = np.zeros_like(params, dtype=float)
            return {"t": 0, "m": z, "v": z, "vmax": z}

        def step(self, params, grads, s):
            g = np.asarray(grads, float) + weight_decay * params
            t = s["t"] + 1
            m = b1 * s["m"] + (1 - b1) * g
            v = b2 * s["v"] + (1 - b2) * g * g
            vmax = np.maximum(s["vmax"], v) if amsgrad else v
            p = params - lr * (m / (1 - b1**t)) / (np.sqrt(vmax / (1 - b2**t)) + eps)
            return p, {"t": t, "m": m, "v": v, "vmax": vmax}
    return Opt()
'''


def _wrap(factory_prelude: str = "", step_prelude: str = "", top: str = "", ret: str = "") -> str:
    """SGD with hostile code at import (``top``), in the factory, in ``step``, or a hostile return."""
    text = "import os, sys, time, signal\n" + top + "\n" + SGD
    if factory_prelude:
        text = text.replace("    class Opt:", "    " + factory_prelude + "\n    class Opt:", 1)
    if step_prelude:
        text = text.replace("            g = np.asarray", "            " + step_prelude + "\n            g = np.asarray", 1)
    if ret:
        text = text.replace("            return params - lr * g, {\"buf\": buf}", "            " + ret, 1)
    return text


def add(b: Builder) -> None:
    _modified_equation(b)
    _verify_impl(b)
    _sweep(b)


def _modified_equation(b: Builder) -> None:
    me = "modified-equation"
    for loss in ("((a+b)**100)**100", "((a+b+c+d+f+g)**100)**100", "theta**(10**100)", "theta**1e400",
                 "(theta+1)**100000", "((((theta+1)**50)**50)**50)", "theta**" + "9" * 5000,
                 "+".join(f"x{i}**2" for i in range(3000))):
        b.add(me, "huge-expression", ["--loss", loss], "bad", sample=loss == "((a+b)**100)**100")
    for loss in ("exp(exp(exp(100)))*theta", "exp(exp(exp(exp(10))))*theta**2", "factorial(10**9)*theta",
                 "(" * 1000 + "theta" + ")" * 1000, "(" * 150 + "theta**2" + ")" * 150,
                 "sin(" * 100 + "theta" + ")" * 100, "theta" + "**2" * 30):
        b.add(me, "huge-expression", ["--loss", loss, "--time-limit", "3"], "either",
              sample=loss.startswith("exp(exp(exp(100"))
    for loss in ("acos(2)*theta", "sqrt(-theta**2-1)", "I*theta**2", "theta**2 + I", "log(-1)*theta",
                 "theta**2 + sqrt(-2)", "asin(3)*theta**2", "theta**2*exp(I*theta)"):
        b.add(me, "complex-loss", ["--loss", loss], "bad", sample=loss in ("acos(2)*theta", "sqrt(-theta**2-1)"))
    # real at the integers only: SymPy cannot decide, and sampling cannot tell it from a loss real on part of
    # the space (log(theta), asin(theta/2)), which must be accepted; a refusal is right too
    b.add(me, "complex-loss", ["--loss", "(-1)**theta"], "either")
    for loss in ("zoo*theta", "nan*theta", "oo*theta**2", "theta**2/0", "theta**2 + oo", "0**-1*theta"):
        b.add(me, "non-finite", ["--loss", loss], "bad")
    # SymPy constants as parameter names: renamed (keeping their meaning as parameters) or refused
    for loss, params in (("(I-1)**2/2", "I"), ("oo**2/2", "oo"), ("nan**4/4", "nan"), ("E**2/2", "E"),
                         ("pi**2/2 + theta**2", "theta,pi"), ("S**2/2", "S"), ("(I*x-1)**2/2", "I,x"),
                         ("zoo**2", "zoo"), ("Q**2/2", "Q"), ("N**2/2 + theta", "theta,N")):
        b.add(me, "sympy-constant", ["--loss", loss, "--params", params], "either", forbid=(r"\bzoo\b",),
              sample=params == "I")
    for loss in ("__import__('os').system('touch pwned')", "exec('open(\"pwned\",\"w\")')", "lambda: 1",
                 "().__class__.__bases__[0].__subclasses__()", "theta.__class__", "open('pwned','w')",
                 "eval('1')*theta", "theta**2; import os", "[theta]", "{theta: 1}", "theta if theta else 1",
                 "theta == 1", "theta**2 # x", "theta**2\nimport os"):
        b.add(me, "injection", ["--loss", loss], "either" if "#" in loss else "bad", sample=loss.startswith("__import__"))
    for loss in ("", " ", "theta**", "(theta", "theta)", "theta**2**", "theta $ 2", "@theta", "theta!!",
                 "theta\x7f", "3", "1e400*theta", "x**2", "foo(theta)", "theta**2 +", "\u03b8**\u00b2"):
        exp = "either" if loss in ("x**2", "foo(theta)") else "bad"
        b.add(me, "wrong-type", ["--loss", loss], exp)
    for loss in ("\u03b8**2/2", "theta**2/2\t", "\u202etheta**2", "theta\x1b[31m**2", "th\u00e9ta**2"):
        b.add(me, "unicode", ["--loss", loss], "either")
    for p in ("theta,theta", "", "1abc", "theta;import os", "theta,", "x", "theta,zzz", "lambda", "\u03b8"):
        exp = "bad" if p in ("theta,theta", "", "1abc", "theta;import os") else "either"
        b.add(me, "params", ["--loss", "theta**4/4", "--params", p], exp)
    for o in ("-1", "1000", "abc", "1e400", "1" + "0" * 400, "", "2.5"):
        b.add(me, "order", ["--loss", "theta**4/4", "--order", o], "bad")
    b.add(me, "order", ["--loss", "theta**4/4", "--order", "0"], "either")
    for rule, sets, exp in (("zzz", [], "bad"), ("", [], "bad"), ("lion", [], "bad"),
                            ("heavy-ball", ["momentum=2"], "bad"), ("heavy-ball", ["momentum=nan"], "bad"),
                            ("heavy-ball", ["momentum=-1"], "bad"), ("heavy-ball", ["zzz=1"], "bad"),
                            ("heavy-ball", ["momentum"], "bad"), ("heavy-ball", ["momentum=1e400"], "bad"),
                            ("heavy-ball", ["momentum=0.9", "momentum=0.5"], "either"),
                            ("heavy-ball", ["momentum=0.9"], "ok"), ("qhm", ["nu=0.7", "momentum=0.9"], "ok"),
                            ("missing.rule", [], "bad"), ("/dev/null", [], "bad")):
        argv = ["--loss", "theta**4/4", "--rule", rule] + [x for s in sets for x in ("--set", s)]
        b.add(me, "rule", argv, exp, sample=sets == ["momentum=2"])
    b.add(me, "rule", ["--loss", "theta**4/4", "--set", "momentum=0.9"], "bad")
    for t in ("0", "-1", "nan", "inf", "1e400", "abc"):
        b.add(me, "time-limit", ["--loss", "theta**4/4", "--time-limit", t], "bad")
    b.add(me, "valid", ["--loss", "theta**4/4 - theta**2/2", "--json"], "ok", sample=True)
    b.add(me, "valid", ["--loss", "(x*y-1)**2/2", "--order", "2"], "ok")
    b.add(me, "valid", ["--loss", "theta**4/4", "--time-limit", "30"], "ok")


def _verify_impl(b: Builder) -> None:
    vi = "verify-impl"
    q = ["--steps", "20"]
    good = (("opt.py", SGD),)
    tl = ["--time-limit", "3"]
    # hostile user files: not Python, missing, wrong spec
    for spec, files in (("notpy.txt:sgd", (("notpy.txt", "this is text, not Python\n"),)), ("/etc/passwd:root", ()),
                        ("x.txt:sgd", (("x.txt", "SGD!\n"),)), ("missing.py:sgd", ()), ("opt.py:missing", good),
                        ("opt.py", good), ("opt.py:", good), (":sgd", ()), ("", ()), ("bin.py:sgd",
                        (("bin.py", bytes(range(256))),)), ("syntax.py:sgd", (("syntax.py", "def sgd(:\n"),)),
                        ("adir:sgd", (("adir", None),)), ("opt.py:np", good), ("opt.py:sgd:extra", good),
                        ("no.such.module:sgd", ()), ("builtins:print", ()), ("os:getcwd", ()),
                        ("\u00f6pt.py:sgd", (("\u00f6pt.py", SGD),)), ("opt.py:s\u0261d", good)):
        exp = "either" if spec in ("\u00f6pt.py:sgd", "builtins:print") else "bad"
        b.add(vi, "user-spec", [spec, "--rule", "sgd"] + q, exp, files=files,
              sample=spec == "/etc/passwd:root")
    # hostile code at import, in the factory, in step: a crash, an exit, a sleep, a flood of output
    hostile = {
        "import-raises": dict(top="raise ValueError('at import')"),
        "import-keyboardinterrupt": dict(top="raise KeyboardInterrupt"),
        "import-systemexit0": dict(top="sys.exit(0)"),
        "import-sleeps": dict(top="time.sleep(60)"),
        "import-os-exit": dict(top="os._exit(0)"),
        "factory-baseexception": dict(factory_prelude="raise BaseException('boom')"),
        "factory-keyboardinterrupt": dict(factory_prelude="raise KeyboardInterrupt"),
        "factory-generatorexit": dict(factory_prelude="raise GeneratorExit"),
        "factory-systemexit": dict(factory_prelude="raise SystemExit(3)"),
        "factory-os-exit0": dict(factory_prelude="os._exit(0)"),
        "factory-os-exit1": dict(factory_prelude="os._exit(1)"),
        "factory-sigkill": dict(factory_prelude="os.kill(os.getpid(), signal.SIGKILL)"),
        "factory-sleeps": dict(factory_prelude="time.sleep(60)"),
        "factory-loops": dict(factory_prelude="while True: pass"),
        "factory-recursion": dict(factory_prelude="f = lambda n: f(n + 1); f(0)"),
        "factory-memory": dict(factory_prelude="x = bytearray(10**12)"),
        "factory-stdin": dict(factory_prelude="input()"),
        "step-baseexception": dict(step_prelude="raise BaseException('boom')"),
        "step-keyboardinterrupt": dict(step_prelude="raise KeyboardInterrupt"),
        "step-generatorexit": dict(step_prelude="raise GeneratorExit"),
        "step-os-exit0": dict(step_prelude="os._exit(0)"),
        "step-sleeps": dict(step_prelude="time.sleep(60)"),
        "step-loops": dict(step_prelude="while True: pass"),
        "step-sigterm-self": dict(step_prelude="os.kill(os.getpid(), signal.SIGTERM)"),
        "step-returns-none": dict(ret="return None"),
        "step-returns-string": dict(ret="return 'params', state"),
        "step-returns-1tuple": dict(ret="return (params - lr * g,)"),
        "step-returns-wrong-shape": dict(ret="return np.zeros(7), {'buf': buf}"),
        "step-returns-complex": dict(ret="return (params - lr * g) * (1 + 0j), {'buf': buf}"),
        "step-returns-huge": dict(ret="return np.zeros((10**5, 10**3)), {'buf': buf}"),
    }
    for name, kw in hostile.items():
        limit = tl if ("sleeps" in name or "loops" in name) else []  # a time limit only where time is the point
        b.add(vi, "user-code", ["hostile.py:sgd", "--rule", "sgd"] + q + limit, "fails",
              files=(("hostile.py", _wrap(**kw)),), timeout=30.0,
              sample=name in ("factory-baseexception", "factory-os-exit0", "step-sleeps", "import-keyboardinterrupt"))
    # odd but harmless user code: prints a lot, returns a state that cannot be recorded
    for name, kw, exp in (("prints-10mb", dict(factory_prelude="print('x' * 10**7)"), "ok"),
                          ("step-prints", dict(step_prelude="print('step', flush=True)"), "ok"),
                          ("state-generator", dict(ret="return params - lr * g, {'buf': buf, 'gen': (i for i in [1])}"),
                           "either"),
                          ("state-ragged", dict(ret="return params - lr * g, {'buf': buf, 'r': [[1], [1, 2]]}"),
                           "either"),
                          ("state-object", dict(ret="return params - lr * g, {'buf': buf, 'o': object()}"), "either"),
                          ("state-nan", dict(ret="return params - lr * g, {'buf': buf, 'x': float('nan')}"), "either")):
        b.add(vi, "user-code", ["hostile.py:sgd", "--rule", "sgd"] + q, exp, files=(("hostile.py", _wrap(**kw)),),
              timeout=30.0, sample=name == "prints-10mb")
    b.add(vi, "user-code", ["hostile.py:sgd", "--rule", "sgd"] + q, "fails",
          files=(("hostile.py", _wrap(ret="return params * float('nan'), {'buf': buf}")),), nonfinite_ok=True)
    # hyperparameters out of their mathematical range, wrong types, non-finite
    for s in ("momentum=2", "momentum=1", "momentum=-0.1", "dampening=-1", "dampening=1.5", "lr=-1", "lr=nan",
              "lr=inf", "lr=1" + "0" * 400, "lr=1e400", "weight_decay=-0.1", "nesterov=2", "nesterov=maybe",
              "zzz=1", "lr", "=1", "lr=", "momentum=0.9=1", "lr=0x10", "lr=\u00bd"):
        b.add(vi, "hyperparameter", ["opt.py:sgd", "--rule", "sgd", "--set", s] + q, "bad", files=good,
              sample=s in ("momentum=2", "dampening=-1", "lr=1" + "0" * 400))
    adam = (("adam.py", ADAM),)
    for s in ("betas=1,0.9", "betas=0.9", "betas=0.9,0.999,0.5", "betas=0.9,1", "betas=-0.1,0.9", "eps=0",
              "eps=-1", "eps=nan", "amsgrad=maybe", "betas=(0.9,0.99)x"):
        b.add(vi, "hyperparameter", ["adam.py:adam", "--rule", "adam", "--set", s] + q, "bad", files=adam,
              sample=s == "betas=1,0.9")
    b.add(vi, "valid", ["adam.py:adam", "--rule", "adam", "--set", "betas=0.5,0.6"] + q, "ok", files=adam)
    b.add(vi, "valid", ["opt.py:sgd", "--rule", "sgd", "--set", "momentum=0.5", "--json"] + q, "ok", files=good,
          sample=True)
    for opt, v in (("--steps", "0"), ("--steps", "-1"), ("--steps", "abc"), ("--seed", "-1"), ("--seed", "1.5"),
                   ("--rtol", "-1"), ("--rtol", "nan"), ("--rtol", "inf"), ("--rtol", "abc"), ("--steps", "1e400"),
                   ("--time-limit", "0"), ("--time-limit", "-1"), ("--time-limit", "nan")):
        b.add(vi, "wrong-type", ["opt.py:sgd", "--rule", "sgd", opt, v], "bad", files=good)
    b.add(vi, "huge", ["opt.py:sgd", "--rule", "sgd", "--steps", "1000000000"] + tl, "fails", files=good,
          timeout=30.0)
    b.add(vi, "huge", ["opt.py:sgd", "--rule", "sgd", "--seed", str(10**30)] + q, "either", files=good)
    b.add(vi, "huge", ["opt.py:sgd", "--rule", "sgd", "--rtol", "0"] + q, "either", files=good)
    for rule in ("zzz", "", "garbage.rule", "/dev/null", "lion"):
        files = good + ((("garbage.rule", "not a rule\n"),) if rule == "garbage.rule" else ())
        b.add(vi, "unknown-name", ["opt.py:sgd", "--rule", rule] + q, "bad", files=files, sample=rule == "zzz")


def _sweep(b: Builder) -> None:
    sw = "sweep"
    q = ["--seeds", "2", "--workers", "1", "--set", "steps=20"]
    ok = ["least-squares", "lr", "0.1,0.5"]
    for opt, v in (("--num", "1000000000"), ("--num", "0"), ("--num", "-1"), ("--num", "abc"), ("--seeds", "0"),
                   ("--seeds", "-1"), ("--seeds", "1000000000"), ("--seeds", "1e400"), ("--workers", "0"),
                   ("--workers", "-1"), ("--workers", "many"), ("--workers", "1e400")):
        argv = ["least-squares", "lr", "0.1:0.5"] + ["--seeds", "2", "--set", "steps=20"] + [opt, v]
        b.add(sw, "grid-size", argv, "bad", sample=v in ("1000000000",) and opt == "--num")
    for s in ("width=1000000000", "teacher_seed=-1", "steps=-5", "steps=1000000000", "n=0", "d=0", "n=1000000000",
              "init=xyz", "zzz=1", "steps", "lr=nan", "momentum=2", "weight_decay=-1", "noise=-1", "steps=1e400",
              "width=0", "width=abc"):
        b.add(sw, "set", ["two-layer", "lr", "0.1,0.5"] + q + ["--set", s], "bad",
              sample=s == "width=1000000000")
    b.add(sw, "set", ["two-layer", "lr", "0.1,0.5"] + q + ["--set", "width=4", "--set", "teacher_seed=3"], "ok")
    for learner, control, values in (("least-squares", "lr", "a:b"), ("least-squares", "lr", "1:2:3"),
                                     ("least-squares", "lr", ""), ("least-squares", "lr", "nan:1"),
                                     ("least-squares", "lr", "0.1,1e400"), ("least-squares", "lr", "0.1,inf"),
                                     ("least-squares", "lr", "0,1"), ("least-squares", "momentum", "0:2"),
                                     ("least-squares", "momentum", "0.5,1"), ("least-squares", "noise", "0,-1"),
                                     ("least-squares", "weight_decay", "0,-1"), ("least-squares", "lr", ","),
                                     ("least-squares", "lr", "1" + "0" * 400 + ",1"), ("two-layer", "lr", "\u00bd,1"),
                                     ("least-squares", "zzz", "0:1"), ("zzz", "lr", "0:1")):
        b.add(sw, "values", [learner, control, values] + q, "bad", sample=values == "nan:1")
    b.add(sw, "values", ["least-squares", "lr", "0:1", "--log"] + q, "bad")
    b.add(sw, "values", ["least-squares", "lr", "1:0.1", "--num", "3"] + q, "either")
    b.add(sw, "values", ["least-squares", "lr", "0.1:1", "--num", "1"] + q, "either")
    b.add(sw, "values", ["least-squares", "lr", "0.1," * 3 + "0.1"] + q, "either")
    # a grid where some seeds diverge: "diverged in k of n seeds", never an inf/nan mean
    b.add(sw, "divergence", ["least-squares", "lr", "0.5,3,10"] + q, "ok", sample=True)
    b.add(sw, "divergence", ["least-squares", "lr", "0.5,3,10"] + q + ["--json"], "ok")
    b.add(sw, "divergence", ["two-layer", "lr", "0.5,20,1e6"] + q + ["--set", "width=4"], "ok")
    for out, files in (("", (("README.md", "mine\n"),)), ("afile", (("afile", "x"),)), ("afile/sub", (("afile", "x"),)),
                       ("/dev/null", ()), ("n" * 300, ())):
        b.add(sw, "output-path", ok + q + ["--out", out], "bad", files=files, sample=out == "afile/sub")
    b.add(sw, "valid", ok + q + ["--out", "res"], "ok", outputs=("res",))
    b.add(sw, "valid", ["least-squares", "momentum", "0:0.9", "--num", "3"] + q + ["--set", "lr=0.1"], "ok")
    for bad in NONFINITE[:3] + NOT_NUMBERS[:3]:
        b.add(sw, "set", ok + q + ["--set", f"momentum={bad}"], "bad")
